"""The README's production set-up, started for real with Docker Compose v2.

`docker compose up -d --wait` on compose.yaml (images built locally), the first
platform operator made with `docker compose run`, the proxy added, an ISP
signed up from the e-mail the worker printed, a tenant and a subscriber, and
that subscriber's phone registered through the published SIP port with sipp.
Everything goes through the ports compose publishes, as an operator's would.

It needs a container engine with the Compose plugin, the host ports compose
publishes (8001-8003/tcp, 5060/udp) free, and sipp; where any is missing it is
skipped with the reason (this project's CI machine has no container engine).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.proxy import run_sipp
from tests.graphql import LOGIN, PASSWORD, SIGN_UP, SIGN_UP_COMPLETE
from tests.test_compose import COMPOSE_FILE, ROOT, _docker_compose_problem

API = "http://127.0.0.1:8001"
SIP_PORT = 5060
SECRET_KEY = "42" * 32
ERRORS = "errors { field code message }"


def _problem() -> str | None:
    problem = _docker_compose_problem()
    if problem is not None:
        return problem
    try:
        subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as error:
        return f"no container engine answers `docker info` ({error})"
    if shutil.which("sipp") is None:
        return "sipp is not installed"
    for port in (8001, 8002, 8003):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return f"port {port} is in use on this host"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("0.0.0.0", SIP_PORT))  # where compose publishes it
        except OSError:
            return f"UDP port {SIP_PORT} is in use on this host"
    return None


class Deployment:
    def __init__(self, project: str) -> None:
        self.project = project
        self.env = {**os.environ, "WEHOSTVOIP_SECRET_KEYS": SECRET_KEY}

    def compose(self, *args: str, timeout: float = 600, stdin: str | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE_FILE), "-p", self.project, *args],
            cwd=ROOT, env=self.env, input=stdin, capture_output=True, text=True,
            timeout=timeout, check=False)
        if check:
            assert result.returncode == 0, f"docker compose {' '.join(args)}:\n{result.stderr}"
        return result


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    problem = _problem()
    if problem is not None:
        pytest.skip(f"cannot start compose.yaml: {problem}")
    running = Deployment(f"wehostvoip-test-{uuid.uuid4().hex[:8]}")
    try:
        running.compose("up", "-d", "--wait", timeout=1800)
        yield running
    finally:
        running.compose("down", "--volumes", "--remove-orphans", timeout=300, check=False)


class Browser:
    """A person's session against the published API port: cookies and the CSRF token."""

    def __init__(self) -> None:
        self.http = httpx.Client(base_url=API, timeout=30)
        self.csrf: str | None = None

    def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        body = self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                              headers=headers).json()
        assert not body.get("errors"), body
        return body["data"]

    def login(self, email: str) -> None:
        payload = self.run(LOGIN, {"email": email, "password": PASSWORD})["login"]
        assert payload["errors"] == [], payload
        self.csrf = payload["csrfToken"]


def _emailed_link(deployment: Deployment, to: str, path: str, timeout: float = 120) -> str:
    """The link in the e-mail a worker printed (no SMTP host is set in compose.yaml)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = deployment.compose("logs", "--no-log-prefix", "worker", timeout=60).stdout
        for block in logs.split("To: ")[1:]:
            if block.startswith(to):
                found = re.search(rf"https?://\S+{re.escape(path)}\?token=\S+", block)
                if found:
                    return found.group(0)
        time.sleep(2)
    raise AssertionError(f"no e-mail to {to} with a {path} link in the workers' output")


def test_the_readme_walkthrough_on_compose(deployment: Deployment):
    assert httpx.get(f"{API}/readyz", timeout=10).status_code == 200

    made = deployment.compose("run", "--rm", "-T", "migrate", "wehostvoip", "admin", "create",
                              "--email", "ops@example.com", "--platform", "--password-stdin",
                              stdin=PASSWORD + "\n", timeout=300)
    assert "platform operator ops@example.com created" in made.stdout
    operator = Browser()
    operator.login("ops@example.com")
    proxy = operator.run(f"""mutation {{ sipProxyCreate(input: {{name: "kamailio",
        databaseUrl: "postgres://wehostvoip:wehostvoip@postgres:5432/kamailio",
        rpcUrl: "http://kamailio:5071/RPC"}}) {{ {ERRORS} }} }}""")
    assert proxy["sipProxyCreate"]["errors"] == []

    owner = Browser()
    assert owner.run(SIGN_UP, {"email": "owner@compose.example"})["ispSignUp"]["errors"] == []
    link = _emailed_link(deployment, "owner@compose.example", "/signup/complete")
    assert owner.http.get(link.replace("http://localhost:8001", API)).status_code == 200
    completed = owner.run(SIGN_UP_COMPLETE, {"input": {
        "token": link.split("token=", 1)[1], "password": PASSWORD, "fullName": "Owner",
        "isp": {"name": "Compose ISP", "namespaceLabel": "compose", "currency": "USD"},
    }})["ispSignUpComplete"]
    assert completed["errors"] == [], completed
    owner.csrf = completed["csrfToken"]

    customer = owner.run(f"""mutation {{ customerCreate(input: {{name: "Acme",
        maxSubscribers: 50, maxConcurrentCalls: 10}}) {{ customer {{ id }} {ERRORS} }} }}""")
    tenant = owner.run(f"""mutation($customer: ID!) {{ tenantCreate(input: {{name: "Acme",
        domain: "acme", customer: $customer, defaultCountryCode: "1"}}) {{
        tenant {{ id domain }} {ERRORS} }} }}""",
        {"customer": customer["customerCreate"]["customer"]["id"]})["tenantCreate"]["tenant"]
    alice = owner.run(f"""mutation($tenant: ID!) {{ subscriberCreate(input: {{tenant: $tenant,
        username: "alice", alias: "1001"}}) {{ sipPassword {ERRORS} }} }}""",
        {"tenant": tenant["id"]})["subscriberCreate"]
    assert alice["errors"] == []

    deadline = time.monotonic() + 120
    while not owner.run("{ routingStatus { inStep } }")["routingStatus"]["inStep"]:
        assert time.monotonic() < deadline, "the export never reached the proxy"
        time.sleep(1)
    registered = run_sipp("register.xml", remote_port=SIP_PORT, service="alice",
                          auth=("alice", alice["sipPassword"]),
                          keys={"domain": tenant["domain"]}, expect=200)
    assert registered.ok, registered.describe()

    # Stop and start again: the data is kept in the named volumes.
    deployment.compose("stop", timeout=300)
    deployment.compose("up", "-d", "--wait", timeout=600)
    owner.login("owner@compose.example")
    assert owner.run("{ me { email } }")["me"]["email"] == "owner@compose.example"
