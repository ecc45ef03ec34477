"""A stand-in for a proxy's JSON-RPC endpoint, answering as Kamailio 5.6 does.

The export's failure handling is tested here (a proxy that is down, drouting's
"failed to load routing data" answered with HTTP 200, "ongoing reload" inside
``reload_delta``); the end-to-end tests in ``tests/e2e`` use a real Kamailio.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeProxy:
    url: str
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    # Per method: answers to give before answering normally ("ongoing", "failed").
    troubles: dict[str, list[str]] = field(default_factory=dict)
    # What core.shmmem answers (Kamailio's figures in bytes); None: nothing.
    shmmem: dict[str, int] | None = None

    def methods(self) -> list[str]:
        return [method if not params else f"{method}({params[0]})"
                for method, params in self.calls]

    def answer(self, method: str, params: tuple[Any, ...]) -> dict[str, Any]:
        self.calls.append((method, params))
        pending = self.troubles.get(method)
        trouble = pending.pop(0) if pending else None
        if trouble == "ongoing":
            return {"error": {"code": 500, "message": "ongoing reload"}}
        if trouble == "failed":
            return {"result": "failed to load routing data"}
        if method == "drouting.reload":
            return {"result": "reload ok"}
        if method == "core.shmmem" and self.shmmem is not None:
            return {"result": self.shmmem}
        return {}


@contextmanager
def fake_proxy() -> Iterator[FakeProxy]:
    state: dict[str, FakeProxy] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = {"jsonrpc": "2.0", "id": request.get("id")}
            body.update(state["proxy"].answer(request["method"], tuple(request.get("params",
                                                                                   ()))))
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["proxy"] = FakeProxy(url=f"http://127.0.0.1:{server.server_port}/RPC")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["proxy"]
    finally:
        server.shutdown()
        server.server_close()
