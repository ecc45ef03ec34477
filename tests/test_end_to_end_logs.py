"""The logs of a full flow: JSON lines, the request id carried into jobs, and no secret in them.

`wehostvoip serve` (with `wehostvoip worker` beside it when the suite runs on
Redis) runs as its own process with DEBUG logs in JSON, its stderr in a file.
Over real HTTP an ISP signs up by e-mailed link, logs in, makes an API token
and, with it, a customer, a tenant and subscribers with SIP passwords and a
PIN; it reveals and resets a SIP password and exports the credentials sheet
(the job runs in the worker) and downloads it. A platform operator made with
`wehostvoip admin create --platform --password-stdin` adds a SIP proxy whose
database URL carries a password. Then the processes are stopped and their
logs read: every line is a JSON record, the export's request id is found on
the API's side and on the job's, and no secret the flow used is anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from schema.core.cookies import SESSION_COOKIE
from schema.core.ids import id_of
from tests import services
from tests.cli.test_cli import free_port, wait_for_http
from tests.conftest import TEST_BASE_DOMAIN, TEST_SECRET_KEY
from tests.graphql import LOGIN, SIGN_UP, SIGN_UP_COMPLETE
from tests.mailbox import Mailbox

# The worker runs on the suite's Redis when the suite does (as `running_service`).
pytestmark = [pytest.mark.redis] if services.TEST_BROKER == "redis" else []

ERRORS = "errors { field code message }"
WAIT_SECONDS = 60
RECORD_FIELDS = {"ts", "level", "logger", "message"}


# The service, as its own processes, logging to files -------------------------------


@dataclass
class LoggedService:
    base: str
    env: dict[str, str]
    cwd: Path
    logs: list[Path]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    exit_codes: list[int | None] = field(default_factory=list)

    def stop(self) -> None:
        """SIGTERM every process and wait for it; safe to call again."""
        if not self.processes:
            return
        running, self.processes = self.processes, []
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self.exit_codes.append(process.returncode)

    def cli(self, *args: str, stdin: str, log: Path) -> subprocess.CompletedProcess[str]:
        """A one-off `wehostvoip` command on the same settings, its stderr in ``log``."""
        self.logs.append(log)
        with log.open("w") as errors:
            return subprocess.run([sys.executable, "-m", "cli", *args], cwd=self.cwd,
                                  env=self.env, input=stdin, stdout=subprocess.PIPE,
                                  stderr=errors, text=True, timeout=60, check=False)


@pytest.fixture
def service(database_url: str, mailbox: Mailbox, tmp_path: Path) -> Iterator[LoggedService]:
    """Like `running_service`, with DEBUG JSON logs written to files in tmp_path."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
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
        "WEHOSTVOIP_LOG_LEVEL": "DEBUG",
        "WEHOSTVOIP_LOG_FORMAT": "json",
    }
    commands = {"serve": ["serve", "--port", str(port)]}
    if services.TEST_BROKER == "redis":
        commands["worker"] = ["worker", "--threads", "2"]
    running = LoggedService(base=base, env=env, cwd=tmp_path, logs=[])
    for name, command in commands.items():
        log = tmp_path / f"{name}.log"
        running.logs.append(log)
        with log.open("wb") as errors:
            running.processes.append(subprocess.Popen(
                [sys.executable, "-m", "cli", *command], cwd=tmp_path, env=env,
                stdout=subprocess.DEVNULL, stderr=errors))
    try:
        wait_for_http(f"{base}/healthz")
        yield running
    finally:
        running.stop()


# Talking to it ------------------------------------------------------------------------


def _data(client: httpx.Client, query: str, variables: dict[str, Any] | None = None,
          *, csrf: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    sent = dict(headers or {})
    if csrf:
        sent["X-CSRF-Token"] = csrf
    response = client.post("/graphql", json={"query": query, "variables": variables or {}},
                           headers=sent)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def _ok(client: httpx.Client, query: str, variables: dict[str, Any] | None = None,
        **kwargs: Any) -> dict[str, Any]:
    """The payload of a mutation that must succeed."""
    payload = next(iter(_data(client, query, variables, **kwargs).values()))
    assert payload["errors"] == [], payload["errors"]
    return payload


def _link_token(mailbox: Mailbox, to: str, path: str) -> str:
    message = mailbox.wait_for_message(to, timeout=30)
    for link in mailbox.links(message):
        parts = urlsplit(link)
        if parts.path == path:
            return parse_qs(parts.query)["token"][0]
    raise AssertionError(f"no {path} link in the message to {to}")


def _wait_for_job(client: httpx.Client, job_id: str,
                  done: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        job = _data(client, """query($id: ID!) { job(id: $id) {
            kind status errorCode attempts errors { code message } } }""", {"id": job_id})["job"]
        if done(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not get there within {WAIT_SECONDS} s: {job}")


def _ended(job: dict[str, Any]) -> bool:
    return job["status"] in {"SUCCEEDED", "FAILED", "CANCELLED"}


# The flow --------------------------------------------------------------------------------


@dataclass
class Flow:
    """What the flow used: the secrets the logs must not hold, and the export's ids."""

    secrets: dict[str, str] = field(default_factory=dict)
    export_request_id: str = ""
    export_job_id: str = ""
    visible: dict[str, str] = field(default_factory=dict)

    def secret(self, name: str, value: str | None) -> str:
        assert value, f"the flow got no {name}"
        self.secrets[name] = value
        return value

    def sip_secret(self, name: str, value: str | None, username: str, domain: str) -> str:
        """A SIP password, and the digests Kamailio keeps of it: each is as good as it."""
        password = self.secret(name, value)
        # SIP digest authentication (RFC 2617) needs only HA1: it stands for the password.
        self.secret(f"HA1 of the {name}", _md5(f"{username}:{domain}:{password}"))
        self.secret(f"HA1B of the {name}", _md5(f"{username}@{domain}:{domain}:{password}"))
        return password


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _owner_signs_up(service: LoggedService, mailbox: Mailbox, flow: Flow,
                    email: str) -> None:
    password = flow.secret("account password", f"Logs-{secrets.token_urlsafe(12)}-pass")
    browser = httpx.Client(base_url=service.base, timeout=30)
    assert _data(browser, SIGN_UP, {"email": email}) == {"ispSignUp": {"errors": []}}
    token = flow.secret("sign-up link token", _link_token(mailbox, email, "/signup/complete"))
    done = _ok(browser, SIGN_UP_COMPLETE, {"input": {
        "token": token, "password": password, "fullName": "Lou Logger",
        "isp": {"name": "Logworthy", "namespaceLabel": "logworthy", "currency": "USD"}}})
    flow.secret("sign-up CSRF token", done["csrfToken"])
    flow.secret("sign-up session cookie", browser.cookies.get(SESSION_COOKIE))


def _log_in(service: LoggedService, flow: Flow, who: str, email: str,
            password: str) -> tuple[httpx.Client, str]:
    browser = httpx.Client(base_url=service.base, timeout=30)
    login = _ok(browser, LOGIN, {"email": email, "password": password})
    csrf = flow.secret(f"{who} CSRF token", login["csrfToken"])
    flow.secret(f"{who} session cookie", browser.cookies.get(SESSION_COOKIE))
    # A request that rides on the session and its CSRF token.
    assert _data(browser, "{ me { email } }")["me"] == {"email": email}
    return browser, csrf


def _tenant_and_subscribers(service: LoggedService, flow: Flow, token: str) -> dict[str, str]:
    """With the API token: a customer, a tenant, two subscribers; reveal and reset."""
    api = httpx.Client(base_url=service.base, timeout=30,
                       headers={"Authorization": f"Bearer {token}"})
    customer = _ok(api, f"""mutation($input: CustomerCreateInput!) {{
        customerCreate(input: $input) {{ customer {{ id }} {ERRORS} }} }}""", {"input": {
        "name": flow.visible["customer name"], "maxSubscribers": 10,
        "maxConcurrentCalls": 4}})["customer"]
    created = _ok(api, f"""mutation($input: TenantCreateInput!) {{
        tenantCreate(input: $input) {{ tenant {{ id domain provisioningUsername }}
          provisioningPassword {ERRORS} }} }}""", {"input": {
        "name": flow.visible["tenant name"], "domain": "pbx", "customer": customer["id"],
        "defaultCountryCode": "1", "defaultAreaCode": "209"}})
    flow.secret("provisioning password", created["provisioningPassword"])
    tenant = created["tenant"]

    domain, alice_name = tenant["domain"], flow.visible["username"]
    chosen = flow.sip_secret("chosen SIP password", f"Sip{secrets.token_hex(10)}Chosen",
                             alice_name, domain)
    pin = flow.secret("PIN", "".join(secrets.choice("23456789") for _ in range(12)))
    alice = _ok(api, f"""mutation($input: SubscriberCreateInput!) {{
        subscriberCreate(input: $input) {{ subscriber {{ id username }} sipPassword
          {ERRORS} }} }}""", {"input": {
        "tenant": tenant["id"], "username": alice_name, "sipPassword": chosen,
        "pin": pin, "alias": "2001", "displayName": "Alice Caller"}})
    assert alice["sipPassword"] is None  # chosen, so not shown back
    bob = _ok(api, f"""mutation($input: SubscriberCreateInput!) {{
        subscriberCreate(input: $input) {{ subscriber {{ id }} sipPassword {ERRORS} }} }}""",
              {"input": {"tenant": tenant["id"], "username": "bob", "alias": "2002"}})
    flow.sip_secret("generated SIP password", bob["sipPassword"], "bob", domain)

    revealed = _ok(api, f"""mutation($id: ID!) {{ subscriberRevealSipPassword(input: {{id: $id}})
        {{ sipPassword {ERRORS} }} }}""", {"id": alice["subscriber"]["id"]})
    assert revealed["sipPassword"] == chosen
    reset = _ok(api, f"""mutation($id: ID!) {{ subscriberSipPasswordReset(input: {{id: $id}})
        {{ sipPassword {ERRORS} }} }}""", {"id": alice["subscriber"]["id"]})
    assert flow.sip_secret("reset SIP password", reset["sipPassword"], alice_name,
                           domain) != chosen
    return tenant


def _credentials_sheet(browser: httpx.Client, csrf: str, flow: Flow, tenant_id: str) -> None:
    """Export with a known request id, wait for the worker, download the sheet once."""
    flow.export_request_id = f"logs-e2e-{secrets.token_hex(8)}"
    job = _ok(browser, f"""mutation($tenant: ID!) {{
        tenantCredentialsExport(input: {{tenant: $tenant, format: XLSX}}) {{
          job {{ id }} {ERRORS} }} }}""", {"tenant": tenant_id}, csrf=csrf,
              headers={"X-Request-ID": flow.export_request_id})["job"]
    finished = _wait_for_job(browser, job["id"], _ended)
    assert (finished["status"], finished["errorCode"]) == ("SUCCEEDED", None), finished
    link = _ok(browser, f"""mutation($job: ID!) {{ credentialsDownloadLink(input: {{job: $job}})
        {{ url {ERRORS} }} }}""", {"job": job["id"]}, csrf=csrf)
    flow.secret("download token", parse_qs(urlsplit(link["url"]).query)["token"][0])
    response = browser.get(link["url"])
    assert response.status_code == 200
    assert response.content.startswith(b"PK")  # an XLSX is a zip file
    flow.export_job_id = str(id_of(job["id"], "Job"))  # as the logs show it


def _operator_adds_a_proxy(service: LoggedService, flow: Flow, tmp_path: Path) -> None:
    email = "ops@platform.example"
    password = flow.secret("operator password", f"Ops-{secrets.token_urlsafe(12)}-pass")
    made = service.cli("admin", "create", "--email", email, "--name", "Op Erator",
                       "--platform", "--password-stdin", stdin=password + "\n",
                       log=tmp_path / "admin-create.log")
    assert made.returncode == 0, (tmp_path / "admin-create.log").read_text()
    operator, csrf = _log_in(service, flow, "operator", email, password)

    # Nothing listens there: the export the proxy starts fails, and says so in the logs.
    database_password = flow.secret("proxy database password",
                                    f"Kam{secrets.token_hex(10)}ailio")
    closed = free_port()
    proxy = _ok(operator, f"""mutation($input: SipProxyCreateInput!) {{
        sipProxyCreate(input: $input) {{ sipProxy {{ id }} {ERRORS} }} }}""", {"input": {
        "name": "edge-proxy",
        "databaseUrl": f"postgres://kamailio:{database_password}@127.0.0.1:{closed}/kamailio",
        "rpcUrl": f"http://127.0.0.1:{closed}/RPC"}}, csrf=csrf)
    assert proxy["sipProxy"]["id"]
    jobs = _data(operator, """{ jobs(filter: {kind: "routing.export"}) {
        edges { node { id } } } }""")["jobs"]["edges"]
    assert len(jobs) == 1, jobs
    # Wait for its first attempt to fail against the closed port.
    failed = _wait_for_job(operator, jobs[0]["node"]["id"],
                           lambda job: job["errors"] or _ended(job))
    assert failed["status"] != "SUCCEEDED", failed


# Reading the logs -----------------------------------------------------------------------


def _records(logs: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """The records of every log, and the lines that are not a JSON record with the fields."""
    records, problems = [], []
    for path in logs:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                problems.append(f"{path.name}:{number} is not JSON: {line[:300]!r}")
                continue
            if not isinstance(record, dict) or RECORD_FIELDS - record.keys():
                problems.append(f"{path.name}:{number} is not a record with "
                                f"{sorted(RECORD_FIELDS)}: {line[:300]!r}")
                continue
            records.append(record)
    return records, problems


def _leaks(logs: list[Path], found: dict[str, str]) -> list[str]:
    """Each secret that appears in a log: where, from which logger, and what surrounds it."""
    leaks = []
    for path in logs:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name, value in found.items():
                # JSON escapes some characters; look for the value both ways.
                for spelling in {value, json.dumps(value)[1:-1]}:
                    at = line.find(spelling)
                    if at < 0:
                        continue
                    try:
                        record = json.loads(line)
                        origin = f"{record.get('level')} {record.get('logger')}"
                    except json.JSONDecodeError:
                        origin = "not JSON"
                    around = line[max(0, at - 160):at + len(spelling) + 40]
                    leaks.append(f"{name} in {path.name}:{number} ({origin}): ...{around}...")
                    break
    return leaks


def test_the_logs_of_a_full_flow_hold_no_secret(service: LoggedService, mailbox: Mailbox,
                                                 tmp_path: Path):
    flow = Flow(visible={"tenant name": "Logworthy Tenant", "customer name": "Logworthy Inc.",
                         "username": "alice"})
    email = "founder@logworthy.example"
    _owner_signs_up(service, mailbox, flow, email)
    browser, csrf = _log_in(service, flow, "owner", email, flow.secrets["account password"])
    token = flow.secret("API token", _ok(browser, f"""mutation {{
        apiTokenCreate(input: {{name: "logs"}}) {{ token {ERRORS} }} }}""", csrf=csrf)["token"])
    tenant = _tenant_and_subscribers(service, flow, token)
    _credentials_sheet(browser, csrf, flow, tenant["id"])
    _operator_adds_a_proxy(service, flow, tmp_path)

    service.stop()
    assert service.exit_codes == [0] * len(service.exit_codes), service.exit_codes

    # Every problem is reported at once: a line that is not JSON does not hide a leak.
    records, problems = _records(service.logs)
    # Enough was logged for the search below to mean something.
    assert len(records) >= 20, f"only {len(records)} records"
    assert {record["level"] for record in records} >= {"DEBUG", "INFO"}
    everything = "\n".join(path.read_text(encoding="utf-8") for path in service.logs)
    assert flow.export_job_id in everything
    # The search below finds what is there: the address the sign-up link went to is logged.
    assert _leaks(service.logs, {"e-mail address": email}), "the search finds nothing"

    # The export's request id: on the API's side when it queued the job, and on the job's.
    tagged = [record for record in records
              if record.get("request_id") == flow.export_request_id]
    if not [record for record in tagged if "job_id" not in record]:
        problems.append(f"no API-side record (without job_id) of request "
                        f"{flow.export_request_id}, which queued job {flow.export_job_id}")
    job_side = [record for record in tagged if record.get("job_id") == flow.export_job_id]
    if not job_side:
        problems.append(f"no record of job {flow.export_job_id} with request_id "
                        f"{flow.export_request_id}")
    elif {record.get("job_kind") for record in job_side} != {"credentials.export"}:
        problems.append(f"job records without job_kind credentials.export: {job_side}")

    # And no secret the flow used, anywhere.
    assert len(flow.secrets) >= 15, sorted(flow.secrets)
    problems += [f"LEAK: {leak}" for leak in _leaks(service.logs, flow.secrets)]
    assert not problems, "\n".join(problems)
