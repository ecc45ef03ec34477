"""The wehostvoip command, run as a real process the way an operator runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core import migrations
from core.database import make_sync_engine
from tests import services
from tests.conftest import create_postgres_database, drop_postgres_database

COMMAND = [sys.executable, "-m", "cli"]
SUBCOMMANDS = ["serve", "migrate", "worker", "scheduler"]


def _environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEHOSTVOIP_")}
    env["WEHOSTVOIP_DATA_DIR"] = str(tmp_path / "var")
    # No web console: CI builds web/dist beside the suite; a test that wants one says so.
    env["WEHOSTVOIP_CONSOLE_DIR"] = str(tmp_path / "no-console")
    env.update(overrides)
    return env


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        cwd=tmp_path,
        env=_environment(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def start(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMMAND, *args],
        cwd=tmp_path,
        env=_environment(tmp_path, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=40)
    return process.returncode, output


def wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float = 30) -> str:
    """Read the process's output until a line contains ``needle``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    process.kill()
    raise AssertionError(f"never printed {needle!r}; output was:\n{''.join(seen)}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# Help ---------------------------------------------------------------------------


def test_help_lists_every_subcommand(tmp_path: Path):
    result = run(tmp_path, "--help")
    assert result.returncode == 0
    for name in SUBCOMMANDS:
        assert name in result.stdout
    assert "WEHOSTVOIP_" in result.stdout


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_each_subcommand_explains_itself(tmp_path: Path, subcommand: str):
    result = run(tmp_path, subcommand, "--help")
    assert result.returncode == 0
    assert f"Usage: python -m cli {subcommand}" in result.stdout
    # The first line of the docstring is a real sentence, not an empty stub.
    assert len(result.stdout.splitlines()[2].strip()) > 20


def test_version(tmp_path: Path):
    result = run(tmp_path, "--version")
    assert result.returncode == 0
    assert "wehostvoip, version" in result.stdout


# Errors an operator can fix -----------------------------------------------------------


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_bad_setting_is_one_line_and_exit_2(tmp_path: Path, subcommand: str):
    result = run(tmp_path, subcommand, WEHOSTVOIP_DATABASE_URL="mysql://db/x")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "wehostvoip: configuration error: WEHOSTVOIP_DATABASE_URL: "
        "must start with sqlite:// or postgresql://"
    ]


def test_missing_production_setting_is_named(tmp_path: Path):
    result = run(tmp_path, "migrate", WEHOSTVOIP_ENVIRONMENT="production")
    assert result.returncode == 2
    # Every missing setting on one line, not one per attempt.
    assert result.stderr.count("\n") == 1, result.stderr
    assert ("WEHOSTVOIP_DATABASE_URL, WEHOSTVOIP_SECRET_KEYS, WEHOSTVOIP_BASE_DOMAIN, "
            "WEHOSTVOIP_PUBLIC_BASE_URL are required in production") in result.stderr
    assert "WEHOSTVOIP_BROKER_URL must name Redis or RabbitMQ" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_line(tmp_path: Path):
    result = run(tmp_path, "migrate", WEHOSTVOIP_DATABASE_URL="postgresql://x@127.0.0.1:1/x")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("wehostvoip: database error:")


@pytest.mark.parametrize("subcommand", ["worker", "scheduler"])
def test_worker_and_scheduler_refuse_the_in_process_broker(tmp_path: Path, subcommand: str):
    result = run(tmp_path, subcommand)
    assert result.returncode == 1
    assert "in-process broker" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("subcommand", ["worker", "scheduler"])
def test_unreachable_broker_is_one_line(tmp_path: Path, subcommand: str):
    result = run(tmp_path, subcommand, WEHOSTVOIP_BROKER_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("wehostvoip: cannot reach the broker:")
    assert len(result.stderr.strip().splitlines()) == 1


# Migrate ------------------------------------------------------------------------


def test_migrate_creates_the_embedded_database(tmp_path: Path):
    result = run(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert f"database at revision {migrations.head_revision()}" in result.stdout
    engine = make_sync_engine(f"sqlite:///{tmp_path / 'var' / 'wehostvoip.db'}")
    with engine.connect() as connection:
        assert migrations.is_up_to_date(connection)
    engine.dispose()
    assert run(tmp_path, "migrate").returncode == 0  # again: nothing to do, still fine


@pytest.fixture
def postgres_database() -> str:
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.mark.postgres
def test_migrate_and_serve_on_postgresql(tmp_path: Path, postgres_database: str):
    port = free_port()
    refused = run(tmp_path, "serve", "--port", str(port), WEHOSTVOIP_DATABASE_URL=postgres_database)
    assert refused.returncode == 1
    assert "run `wehostvoip migrate`" in refused.stderr

    assert run(tmp_path, "migrate", WEHOSTVOIP_DATABASE_URL=postgres_database).returncode == 0
    process = start(
        tmp_path, "serve", "--port", str(port), WEHOSTVOIP_DATABASE_URL=postgres_database
    )
    wait_for_line(process, "serving on")
    assert wait_for_http(f"http://127.0.0.1:{port}/readyz").json()["database"] == "ok"
    code, _ = stop(process)
    assert code == 0


# Serve on the embedded default ----------------------------------------------------------


def test_serve_on_a_fresh_directory(tmp_path: Path):
    port = free_port()
    process = start(tmp_path, "serve", "--port", str(port))
    output = wait_for_line(process, f"GraphiQL: open http://127.0.0.1:{port}/graphql")
    assert f"serving on http://127.0.0.1:{port}" in output

    assert wait_for_http(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
    answer = httpx.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": "{ platform { baseDomain } }"}
    )
    assert answer.json()["data"] == {"platform": {"baseDomain": "wehostvoip.localhost"}}
    assert (tmp_path / "var" / "wehostvoip.db").exists()

    code, rest = stop(process)
    assert code == 0, rest
    assert "worker stopped" in rest


# Worker and scheduler on real brokers --------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize("subcommand", ["worker", "scheduler"])
def test_runs_against_redis_and_stops_on_sigterm(tmp_path: Path, subcommand: str):
    process = start(tmp_path, subcommand, WEHOSTVOIP_BROKER_URL=services.REDIS_URL)
    output = wait_for_line(process, "connected to redis://")
    assert "connected to redis://127.0.0.1" in output
    code, rest = stop(process)
    assert code == 0, rest
    assert "stopped" in rest


@pytest.mark.rabbitmq
def test_worker_runs_against_rabbitmq(tmp_path: Path):
    process = start(tmp_path, "worker", WEHOSTVOIP_BROKER_URL=services.RABBITMQ_URL)
    wait_for_line(process, "connected to amqp://")
    code, rest = stop(process)
    assert code == 0, rest


# Platform operators ----------------------------------------------------------------


def test_admin_create_makes_a_platform_operator(tmp_path: Path):
    assert run(tmp_path, "migrate").returncode == 0
    created = subprocess.run(
        [*COMMAND, "admin", "create", "--email", "Ops@Example.com", "--name", "Op Erator",
         "--platform", "--password-stdin"],
        cwd=tmp_path, env=_environment(tmp_path), input="correct horse battery\n",
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert created.returncode == 0, created.stderr
    assert "platform operator ops@example.com created" in created.stdout

    from sqlmodel import Session, select

    from core.models import Administrator, RoleGrant, Scope

    engine = make_sync_engine(f"sqlite:///{tmp_path / 'var' / 'wehostvoip.db'}")
    with Session(engine) as session:
        person = session.exec(select(Administrator)).one()
        grant = session.exec(select(RoleGrant)).one()
    engine.dispose()
    assert person.email == "ops@example.com"
    assert person.password_hash.startswith("$argon2id$")
    assert grant.scope is Scope.PLATFORM


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "use at least 12 characters"), ("correct horse battery", "already")],
)
def test_admin_create_refuses_with_one_line(tmp_path: Path, password: str, message: str):
    assert run(tmp_path, "migrate").returncode == 0
    arguments = [*COMMAND, "admin", "create", "--email", "ops@example.com", "--platform",
                 "--password-stdin"]
    options = {"cwd": tmp_path, "env": _environment(tmp_path), "capture_output": True,
               "text": True, "timeout": 60, "check": False}
    if message == "already":
        subprocess.run(arguments, input="correct horse battery\n", **options)
    result = subprocess.run(arguments, input=f"{password}\n", **options)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]


@pytest.mark.parametrize("arguments", [["jobs", "list"], ["routing", "status"],
                                       ["admin", "create", "--email", "a@example.com",
                                        "--platform", "--password-stdin"]])
def test_a_missing_embedded_database_says_where_it_was_looked_for(tmp_path: Path,
                                                                  arguments: list[str]):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [*COMMAND, *arguments], cwd=elsewhere, input="correct horse battery\n",
        env={k: v for k, v in os.environ.items() if not k.startswith("WEHOSTVOIP_")},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"no database at {elsewhere / 'var' / 'wehostvoip.db'}" in lines[0]
    assert f"working directory, {elsewhere}" in lines[0]
    assert not (elsewhere / "var" / "wehostvoip.db").exists()  # nothing created by mistake
