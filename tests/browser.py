"""A real headless Chromium that tests open pages in, over the DevTools protocol.

Used as ``with Browser(tmp_path) as browser: page = browser.open(url)``, then
``page.evaluate("js expression")`` returns the (awaited) value. Cookies, fetch,
script loading and Subresource Integrity are the browser's own: nothing is faked.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.sync.client import ClientConnection, connect

_DEVTOOLS = re.compile(r"DevTools listening on (ws://\S+)")


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(AssertionError):
    pass


class Page:
    def __init__(self, browser: Browser, session_id: str) -> None:
        self._browser = browser
        self._session = session_id

    def evaluate(self, expression: str, timeout: float = 20) -> Any:
        """The value of ``expression`` in the page (a promise is awaited)."""
        answer = self._browser.call("Runtime.evaluate", {
            "expression": expression, "awaitPromise": True, "returnByValue": True,
        }, session=self._session, timeout=timeout)
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise BrowserError(details.get("exception", {}).get("description") or str(details))
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Evaluate until the value is truthy; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"never true in the page: {expression}")
            time.sleep(0.2)


class Browser:
    def __init__(self, profile: Path) -> None:
        binary = chromium_binary()
        if binary is None:
            raise BrowserError("no chromium on PATH")
        profile.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-breakpad", "--disable-crash-reporter",
             "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._ids = itertools.count(1)
        self._stack = contextlib.ExitStack()
        self._socket = self._stack.enter_context(
            connect(self._devtools_url(), max_size=None, open_timeout=30))

    def _devtools_url(self) -> str:
        assert self._process.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self._process.stderr.readline()
            if not line and self._process.poll() is not None:
                break
            match = _DEVTOOLS.search(line)
            if match:
                # Keep reading what it says, or a full pipe would stall it.
                threading.Thread(target=self._process.stderr.read, daemon=True).start()
                return match.group(1)
        self._process.kill()
        raise BrowserError("chromium did not start its DevTools endpoint")

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             session: str | None = None, timeout: float = 30) -> dict[str, Any]:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        socket: ClientConnection = self._socket
        socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"no answer to {method}")
            reply = json.loads(socket.recv(timeout=remaining))
            if reply.get("id") != message_id:
                continue  # an event
            if "error" in reply:
                raise BrowserError(f"{method}: {reply['error']}")
            return reply["result"]

    def open(self, url: str) -> Page:
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        session = self.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        # A new target shows about:blank (complete at once) before the URL; the page may
        # then change its own query string (GraphiQL keeps the editor's text there).
        page.wait_for("location.href !== 'about:blank' && document.readyState === 'complete'",
                      timeout=60)
        return page

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
