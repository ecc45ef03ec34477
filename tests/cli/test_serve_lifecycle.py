"""Starting and stopping the long-running commands, and where `serve` says it serves.

One SIGTERM or SIGINT stops `serve`, `worker` and `scheduler` at any moment of
their start-up: nothing may keep running (an API still answering, a worker
still consuming) after the process was asked to stop once.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import services
from tests.cli.test_cli import (
    _environment,
    free_port,
    run,
    wait_for_http,
    wait_for_line,
)
from tests.graphql import PASSWORD

STOP_SIGNALS = [signal.SIGTERM, signal.SIGINT]


# A suite started in the background (as CI starts it) hands its children SIGINT
# ignored, and Python keeps an ignored SIGINT ignored until the command installs its
# handler. The command is run as from a terminal: SIGINT back to its default, then exec.
_FROM_A_TERMINAL = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                    "os.execv(sys.executable, [sys.executable, '-m', 'cli', *sys.argv[1:]])")


def start(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _FROM_A_TERMINAL, *args], cwd=tmp_path,
                            env=_environment(tmp_path, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _stops_after(process: subprocess.Popen[str], sig: signal.Signals,
                 port: int | None = None) -> tuple[int, str]:
    """Send ``sig`` once; the process must end by itself, and its port must be closed."""
    process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"still running 40 s after one {sig.name}:\n{output}") from None
    if port is not None:
        with pytest.raises(ConnectionRefusedError), \
                socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    return process.returncode, output


# Moments of start-up, each found by what the process has said so far.
SERVE_MOMENTS = {
    "while starting the interpreter": None,
    "once the worker started": "worker started",
    "once the scheduler started": "scheduler",
    "once it says where it serves": "GraphiQL: open",
}


@pytest.mark.parametrize(("moment", "sig"), [
    *((moment, signal.SIGTERM) for moment in SERVE_MOMENTS),
    ("once the scheduler started", signal.SIGINT),
    ("once it says where it serves", signal.SIGINT),
], ids=lambda value: getattr(value, "name", value))
def test_serve_stops_on_one_signal_at_any_moment(tmp_path: Path, database_url: str, moment: str,
                                                  sig: signal.Signals):
    port = free_port()
    # A migrated database: what is tested is the start-up after it.
    process = start(tmp_path, "serve", "--port", str(port), WEHOSTVOIP_DATABASE_URL=database_url)
    needle = SERVE_MOMENTS[moment]
    if needle is None:
        time.sleep(0.2)  # still importing: the default handlers end it
    else:
        wait_for_line(process, needle)
    code, output = _stops_after(process, sig, port)
    if needle is None:
        assert code in {0, -sig, 128 + sig, 1}, output
    else:
        assert code == 0, output
        assert "worker stopped" in output


def test_serve_once_serving_stops_with_the_scheduler_and_worker(tmp_path: Path,
                                                                database_url: str):
    port = free_port()
    process = start(tmp_path, "serve", "--port", str(port), WEHOSTVOIP_DATABASE_URL=database_url)
    wait_for_line(process, "GraphiQL: open")
    assert wait_for_http(f"http://127.0.0.1:{port}/readyz").status_code == 200
    code, output = _stops_after(process, signal.SIGTERM, port)
    assert code == 0, output
    assert "scheduler stopped" in output
    assert "worker stopped" in output


WORKER_MOMENTS = {
    "while starting the interpreter": None,
    "once connected to the broker": "connected to redis://",
}


@pytest.mark.redis
@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("moment", list(WORKER_MOMENTS))
@pytest.mark.parametrize("subcommand", ["worker", "scheduler"])
def test_worker_and_scheduler_stop_on_one_signal_at_any_moment(
    tmp_path: Path, database_url: str, subcommand: str, moment: str, sig: signal.Signals
):
    process = start(tmp_path, subcommand, WEHOSTVOIP_BROKER_URL=services.REDIS_URL,
                    WEHOSTVOIP_DATABASE_URL=database_url)
    needle = WORKER_MOMENTS[moment]
    if needle is None:
        time.sleep(0.2)
    else:
        wait_for_line(process, needle)
    code, output = _stops_after(process, sig)
    if needle is None:
        assert code in {0, -sig, 128 + sig, 1}, output
    else:
        assert code == 0, output
        assert "stopped" in output


@pytest.mark.redis
@pytest.mark.parametrize("subcommand", ["worker", "scheduler"])
def test_a_signal_during_the_broker_check_stops_at_once(tmp_path: Path, database_url: str,
                                                        subcommand: str):
    """The handlers are in place before the first slow step (settings, broker)."""
    process = start(tmp_path, subcommand, WEHOSTVOIP_BROKER_URL=services.REDIS_URL,
                    WEHOSTVOIP_DATABASE_URL=database_url)
    time.sleep(1.0)  # past the imports on an idle machine; still starting on a busy one
    code, output = _stops_after(process, signal.SIGTERM)
    assert code in {0, -signal.SIGTERM}, output
    assert "Traceback" not in output


# Ports and the public URL ------------------------------------------------------------


def test_a_busy_port_is_one_line_and_exit_2(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(tmp_path, "serve", "--port", str(port))
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
    assert "serving on" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("wehostvoip:")]
    assert len(lines) == 1
    assert "Traceback" not in result.stderr


def _platform_operator(tmp_path: Path, email: str) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "cli", "admin", "create", "--email", email, "--platform",
         "--password-stdin"],
        input=PASSWORD + "\n", cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env=_env(tmp_path),
    )
    assert created.returncode == 0, created.stderr


def _env(tmp_path: Path) -> dict[str, str]:
    return _environment(tmp_path)


LOGIN = ("mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) "
         "{ csrfToken errors { code } } }")
CREATE_TOKEN = ('mutation { apiTokenCreate(input: {name: "from the browser"}) '
                "{ errors { code message } } }")


@pytest.mark.parametrize("browser_host", ["127.0.0.1", "localhost"])
def test_serve_on_another_port_accepts_browser_mutations(tmp_path: Path, browser_host: str):
    """`serve --port N`: a browser at http://127.0.0.1:N or http://localhost:N may log in
    and change things (the CSRF origin check follows the served address)."""
    assert run(tmp_path, "migrate").returncode == 0
    _platform_operator(tmp_path, "ops@example.com")
    port = free_port()
    process = start(tmp_path, "serve", "--port", str(port))
    try:
        output = wait_for_line(process, "GraphiQL: open")
        assert f"GraphiQL: open http://127.0.0.1:{port}/graphql" in output
        origin = f"http://{browser_host}:{port}"
        with httpx.Client(base_url=origin, headers={"Origin": origin}) as browser:
            login = browser.post("/graphql", json={
                "query": LOGIN, "variables": {"e": "ops@example.com", "p": PASSWORD}}).json()
            assert login.get("errors") is None, login
            assert login["data"]["login"]["errors"] == []
            csrf = browser.cookies["whv_csrf"]
            made = browser.post("/graphql", json={"query": CREATE_TOKEN},
                                headers={"X-CSRF-Token": csrf}).json()
            assert made.get("errors") is None, made
            assert made["data"]["apiTokenCreate"]["errors"] == []
            foreign = browser.post("/graphql", json={"query": CREATE_TOKEN},
                                   headers={"X-CSRF-Token": csrf,
                                            "Origin": "http://127.0.0.1:1"}).json()
            assert foreign["errors"][0]["extensions"]["code"] == "CSRF_CHECK_FAILED"
    finally:
        code, rest = _stops_after(process, signal.SIGTERM, port)
    assert code == 0, rest


def test_an_explicit_public_url_is_kept(tmp_path: Path):
    port = free_port()
    process = start(tmp_path, "serve", "--port", str(port),
                    WEHOSTVOIP_PUBLIC_BASE_URL="https://voip.example.net")
    try:
        output = wait_for_line(process, "GraphiQL: open")
        assert f"serving on http://127.0.0.1:{port}" in output
        assert "GraphiQL: open https://voip.example.net/graphql" in output
    finally:
        code, rest = _stops_after(process, signal.SIGTERM, port)
    assert code == 0, rest
