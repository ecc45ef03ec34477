"""The service the fuzzer talks to: `wehostvoip serve` as a real process, logs kept in files.

Like the suite's ``running_service`` (same database, broker and SMTP server), but
each process writes its log to a file rather than a pipe: a fuzzing run logs far
more than a pipe buffers, and the test reads the tracebacks of unexpected errors
back from the log by request id. Domain checks ask a loopback DNS server, so
nothing the fuzzer sends reaches the outside world.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import services
from tests.cli.test_cli import free_port, wait_for_http
from tests.conftest import TEST_BASE_DOMAIN, TEST_SECRET_KEY
from tests.dns_server import DnsServer
from tests.mailbox import Mailbox

# Generous request limits: the fuzzer sends a few thousand requests as one viewer,
# and a refusal for an empty budget would hide what the resolvers do.
FUZZ_SETTINGS = {
    "WEHOSTVOIP_QUERY_BUDGET": "100000000",
    "WEHOSTVOIP_QUERY_BUDGET_REFILL_PER_SECOND": "1000000",
    "WEHOSTVOIP_GRAPHQL_INTROSPECTION": "true",
}


@dataclass
class FuzzService:
    url: str
    logs: list[Path] = field(default_factory=list)

    def log_text(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.logs if path.exists())

    def records_for(self, request_id: str) -> list[str]:
        """What the service logged for one request (JSON lines), exceptions included."""
        found: list[str] = []
        for line in self.log_text().splitlines():
            if not request_id or request_id not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                found.append(line)
                continue
            found.append(f"{record.get('level')} {record.get('logger')}: {record.get('message')}")
            if record.get("exception"):
                found.append(str(record["exception"]))
        return found


@pytest.fixture
def fuzz_service(database_url: str, mailbox: Mailbox, tmp_path: Path) -> Iterator[FuzzService]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    dns = DnsServer()
    dns.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEHOSTVOIP_")} | {
        "WEHOSTVOIP_DATABASE_URL": database_url,
        "WEHOSTVOIP_DATA_DIR": str(tmp_path / "var"),
        "WEHOSTVOIP_SECRET_KEYS": TEST_SECRET_KEY,
        "WEHOSTVOIP_BASE_DOMAIN": TEST_BASE_DOMAIN,
        "WEHOSTVOIP_PUBLIC_BASE_URL": base,
        "WEHOSTVOIP_SMTP_HOST": "127.0.0.1",
        "WEHOSTVOIP_SMTP_PORT": str(mailbox.port),
        "WEHOSTVOIP_SMTP_STARTTLS": "false",
        "WEHOSTVOIP_BROKER_URL": services.REDIS_URL if services.TEST_BROKER == "redis"
        else "stub://",
        "WEHOSTVOIP_DNS_RESOLVERS": f"127.0.0.1:{dns.port}",
        "WEHOSTVOIP_DNS_TIMEOUT_SECONDS": "1",
        "WEHOSTVOIP_LOG_FORMAT": "json",
        **FUZZ_SETTINGS,
    }
    commands = {"serve": ["serve", "--port", str(port)]}
    if services.TEST_BROKER == "redis":
        commands["worker"] = ["worker", "--threads", "2"]
    service = FuzzService(url=base)
    processes = []
    for name, command in commands.items():
        log = tmp_path / f"{name}.log"
        service.logs.append(log)
        with log.open("w") as output:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "cli", *command], cwd=tmp_path, env=env,
                stdout=output, stderr=subprocess.STDOUT, text=True))
    try:
        wait_for_http(f"{base}/healthz")
        yield service
    finally:
        for process in processes:
            process.terminate()
        codes = [process.wait(timeout=60) for process in processes]
        dns.stop()
        assert codes == [0] * len(codes), service.log_text()[-5000:]
