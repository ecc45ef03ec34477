"""Two schedulers started by mistake still fire each periodic task once per interval.

A scheduler fires a task only when its conditional UPDATE of the task's
``periodic_task_run`` row wins, so the database, not the schedulers, decides.
Shown with two scheduler loops in threads of this process, and with two
``wehostvoip scheduler`` processes on the same database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from core.models import PeriodicTaskRun
from core.settings import Settings
from tests import services
from tests.conftest import TEST_BASE_DOMAIN, TEST_SECRET_KEY
from workers import context
from workers.jobs import RECONCILE_INTERVAL_SECONDS
from workers.registry import PeriodicTask
from workers.runtime import run_scheduler

RUN_SECONDS = 3.5


def _task_run(engine: Engine, name: str) -> PeriodicTaskRun | None:
    with Session(engine) as session:
        return session.get(PeriodicTaskRun, name)


@pytest.fixture
def configured(settings: Settings) -> Iterator[Settings]:
    """Scheduler loops in this process use the test's database."""
    context.configure(settings)
    yield settings
    context.configure(settings)  # a fresh engine: no connection left to the threads' pool


def test_two_scheduler_loops_fire_a_task_once_per_interval(configured: Settings,
                                                           engine: Engine):
    fired: list[float] = []
    lock = threading.Lock()

    def tick() -> None:
        with lock:
            fired.append(time.monotonic())

    task = PeriodicTask("test.tick", 1.0, tick)
    stop = threading.Event()
    schedulers = [threading.Thread(target=run_scheduler, args=(stop,), kwargs={"tasks": [task]},
                                   name=f"scheduler-{n}") for n in range(2)]
    started = time.monotonic()
    for thread in schedulers:
        thread.start()
    time.sleep(RUN_SECONDS)
    stop.set()
    for thread in schedulers:
        thread.join(timeout=10)
        assert not thread.is_alive(), f"{thread.name} did not stop"

    offsets = [round(at - started, 2) for at in fired]
    # One scheduler alone fires at about 0, 1, 2 and 3 s; two must not double that.
    assert 3 <= len(fired) <= 4, f"fired at {offsets} s"
    assert all(b - a > 0.4 for a, b in pairwise(fired)), offsets
    row = _task_run(engine, "test.tick")
    assert row is not None
    assert row.last_started_at is not None
    assert row.last_scheduler == f"{socket.gethostname()}:{os.getpid()}"


def _start_scheduler(database_url: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEHOSTVOIP_")} | {
        "WEHOSTVOIP_DATABASE_URL": database_url,
        "WEHOSTVOIP_BROKER_URL": services.REDIS_URL,
        "WEHOSTVOIP_DATA_DIR": str(tmp_path / "var"),
        "WEHOSTVOIP_SECRET_KEYS": TEST_SECRET_KEY,
        "WEHOSTVOIP_BASE_DOMAIN": TEST_BASE_DOMAIN,
        "WEHOSTVOIP_PUBLIC_BASE_URL": "http://testserver",
    }
    return subprocess.Popen([sys.executable, "-m", "cli", "scheduler"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _read_until(process: subprocess.Popen[str], needle: str, timeout: float = 30) -> None:
    """Read the process's output until a line contains ``needle`` (or fail with it)."""
    seen: list[str] = []
    result: list[bool] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if needle in line:
                result.append(True)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not result:
        process.kill()
        raise AssertionError(f"never printed {needle!r}; output was:\n{''.join(seen)}")


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.terminate()
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate(timeout=10)
    return process.returncode, output


@pytest.mark.redis
def test_two_scheduler_processes_start_the_reconciler_once(database_url: str, engine: Engine,
                                                           tmp_path: Path):
    processes = [_start_scheduler(database_url, tmp_path) for _ in range(2)]
    try:
        for process in processes:
            _read_until(process, "scheduler connected to redis://")
        both_up = time.monotonic()

        deadline = both_up + 10
        while (row := _task_run(engine, "jobs.reconcile")) is None or not row.last_started_at:
            assert time.monotonic() < deadline, "no scheduler started jobs.reconcile"
            time.sleep(0.1)
        first = (row.last_started_at, row.last_scheduler)
        pids = {f"{socket.gethostname()}:{process.pid}" for process in processes}
        assert row.last_scheduler in pids

        # Both schedulers tick every second; give each two more ticks. The task is due
        # only every RECONCILE_INTERVAL_SECONDS, so neither may fire it again.
        assert RECONCILE_INTERVAL_SECONDS > 5
        time.sleep(max(0.0, both_up + 2.5 - time.monotonic()))
        row = _task_run(engine, "jobs.reconcile")
        assert row is not None
        assert (row.last_started_at, row.last_scheduler) == first, "jobs.reconcile fired twice"
    finally:
        results = [_stop(process) for process in processes]
    for code, output in results:
        assert code == 0, output
        assert "scheduler stopped" in output
