"""No job is lost: worker crashes, broker restarts, lost messages and duplicate messages.

The row in the database is the truth about a job; the broker only carries its
id. These tests break the path between the two on purpose and show that the
reconciler (``workers.jobs.reconcile``, which the scheduler runs) and the
claim rules bring every job to the same end state:

* with real ``wehostvoip worker`` processes and a throw-away ``redis-server`` of
  the test's own (the shared Redis is never stopped or flushed): a worker
  SIGKILLed mid-run, Redis stopped and started, the queue deleted from Redis,
  the same message delivered three times;
* in-process, on the suite's broker (the stub broker by default): a dead
  worker, a lost message and duplicate messages.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dramatiq
import pytest
import redis
from sqlalchemy import update
from sqlmodel import Session

from core.database import session_scope
from core.jobs import claim
from core.models import Job, JobStatus, utcnow
from core.selftest import start_selftest
from core.settings import Settings
from tests import services
from tests.cli.test_cli import free_port
from tests.conftest import TEST_BASE_DOMAIN, TEST_SECRET_KEY, make_settings
from workers import context
from workers.broker import install_broker
from workers.jobs import dispatch, reconcile
from workers.runtime import start_worker, stop_worker

STALE_SECONDS = 2
# How long any one wait may take before the test fails with what it saw.
WAIT_SECONDS = 45
POLL_SECONDS = 0.1
# dramatiq keeps each message of the "jobs" queue in this Redis hash until it is acknowledged.
MESSAGES_KEY = "dramatiq:jobs.msgs"


def _suite_broker_url() -> str:
    return services.REDIS_URL if services.TEST_BROKER == "redis" else "stub://"


def _subject() -> str:
    return f"durability-{uuid.uuid4().hex[:12]}"


def _load(job_id: uuid.UUID) -> Job:
    with Session(context.engine(), expire_on_commit=False) as session:
        job = session.get(Job, job_id)
        assert job is not None, f"job {job_id} does not exist"
        return job


def _describe(job: Job) -> str:
    return (f"status={job.status} attempts={job.attempts} progress={job.progress_done}/"
            f"{job.progress_total} worker={job.worker_id} heartbeat={job.heartbeat_at} "
            f"dispatched={job.dispatched_at} errors={job.errors}")


def wait_for_job(job_id: uuid.UUID, condition: Callable[[Job], bool], what: str,
                 timeout: float = WAIT_SECONDS, context_text: Callable[[], str] = str) -> Job:
    """Poll the job's row until ``condition`` holds; fail with the last state seen."""
    deadline = time.monotonic() + timeout
    while True:
        job = _load(job_id)
        if condition(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job never became {what} within {timeout} s; last seen: "
                                 f"{_describe(job)}\n{context_text()}")
        time.sleep(POLL_SECONDS)


def _succeeded(job: Job) -> bool:
    return job.status is JobStatus.SUCCEEDED


def enqueue_selftest(steps: int, step_seconds: float) -> uuid.UUID:
    """A self-test job committed and handed to the broker, as a mutation would."""
    with session_scope(context.engine()) as session:
        queued = start_selftest(session, steps=steps, step_seconds=step_seconds,
                                requested_by_id=None, subject=_subject())
        assert queued.created
        return queued.job.id


# A throw-away Redis and real worker processes ---------------------------------------------------


def _redis_server_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        problem = "redis-server is not installed (these tests start and stop their own Redis)"
        if services.REQUIRE_SERVICES:
            pytest.fail(f"redis is required here (WEHOSTVOIP_TEST_REQUIRE_SERVICES=1): {problem}")
        pytest.skip(f"needs redis: {problem}")
    return binary


class RedisServer:
    """A ``redis-server`` of this test alone, without persistence: a restart loses everything."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return
            except redis.ConnectionError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"redis-server did not start on port {self.port}") from error
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1)

    def pending_messages(self) -> int:
        """Messages of the jobs queue not yet acknowledged (waiting or being processed)."""
        with self.client() as client:
            return int(client.hlen(MESSAGES_KEY))


class WorkerProcess:
    """``python -m cli worker``; its output is collected for failure messages."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "worker", "--threads", "2"], cwd=cwd, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "worker connected to" in line:
                self._ready.set()
        self._ready.set()  # ended: wait_ready looks at the exit code

    def output(self) -> str:
        return "".join(self.lines[-40:])

    def wait_ready(self, timeout: float = 30) -> None:
        if not self._ready.wait(timeout) or self.process.poll() is not None:
            raise AssertionError(f"worker {self.pid} did not start:\n{self.output()}")

    def owns(self, job: Job) -> bool:
        return f":{self.pid}:" in (job.worker_id or "")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        return self.process.returncode


@dataclass
class Cluster:
    """This test's Redis, its worker processes, and the test process wired to both."""

    redis: RedisServer
    settings: Settings
    env: dict[str, str]
    cwd: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.env, self.cwd)
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def worker_output(self) -> str:
        return "\n".join(f"--- worker {w.pid} (exit {w.process.poll()}):\n{w.output()}"
                         for w in self.workers)

    def wait_for_job(self, job_id: uuid.UUID, condition: Callable[[Job], bool],
                     what: str, timeout: float = WAIT_SECONDS) -> Job:
        return wait_for_job(job_id, condition, what, timeout, self.worker_output)


@pytest.fixture
def cluster(database_url: str, tmp_path: Path, settings: Settings) -> Iterator[Cluster]:
    """A private Redis; the test process sends through it, with a 2 s stale heartbeat."""
    server = RedisServer(_redis_server_binary(), tmp_path)
    server.start()
    own = make_settings(database_url, tmp_path, broker_url=server.url,
                        job_stale_seconds=STALE_SECONDS, job_resend_seconds=0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEHOSTVOIP_")} | {
        "WEHOSTVOIP_DATABASE_URL": database_url,
        "WEHOSTVOIP_BROKER_URL": server.url,
        "WEHOSTVOIP_DATA_DIR": str(tmp_path / "var"),
        "WEHOSTVOIP_SECRET_KEYS": TEST_SECRET_KEY,
        "WEHOSTVOIP_BASE_DOMAIN": TEST_BASE_DOMAIN,
        "WEHOSTVOIP_PUBLIC_BASE_URL": "http://testserver",
        "WEHOSTVOIP_JOB_STALE_SECONDS": str(STALE_SECONDS),
        "WEHOSTVOIP_JOB_RESEND_SECONDS": "0",
    }
    context.configure(own)
    broker = install_broker(server.url)
    running = Cluster(redis=server, settings=own, env=env, cwd=tmp_path)
    try:
        yield running
    finally:
        for worker in running.workers:
            worker.stop()
        broker.close()
        # Later tests in this process send through the suite's broker again.
        install_broker(_suite_broker_url())
        context.configure(settings)
        server.stop()


# With worker processes and a real Redis ----------------------------------------------------------


@pytest.mark.redis
def test_a_job_survives_its_worker_being_killed_mid_run(cluster: Cluster):
    first = cluster.start_worker()
    job_id = enqueue_selftest(steps=15, step_seconds=0.2)
    job = cluster.wait_for_job(job_id, lambda j: j.progress_done >= 3, "3 steps done")
    assert first.owns(job), _describe(job)

    first.kill()
    second = cluster.start_worker()
    # The killed worker's heartbeat goes stale; then the scheduler's reconciler re-queues it.
    cluster.wait_for_job(
        job_id, lambda j: utcnow() - j.heartbeat_at > dt.timedelta(seconds=STALE_SECONDS),
        f"without a heartbeat for {STALE_SECONDS} s")
    assert _load(job_id).status is JobStatus.RUNNING  # nobody has noticed yet
    assert reconcile() == 1

    job = cluster.wait_for_job(job_id, _succeeded, "SUCCEEDED after the re-run")
    assert job.progress_done == job.progress_total == 15
    assert job.attempts >= 2
    assert second.owns(job), _describe(job)
    assert job.result_ref == "ok"


@pytest.mark.redis
def test_no_job_is_lost_when_the_broker_restarts(cluster: Cluster,
                                                 caplog: pytest.LogCaptureFixture):
    # Sent before the restart: the message is in Redis, which keeps nothing across a restart.
    sent_before = enqueue_selftest(steps=1, step_seconds=0)
    assert _load(sent_before).dispatched_at is not None
    assert cluster.redis.pending_messages() == 1

    cluster.redis.stop()
    with caplog.at_level(logging.ERROR, logger="workers.jobs"):
        during = enqueue_selftest(steps=1, step_seconds=0)  # committed; the send fails
    assert f"could not send job {during}" in caplog.text
    job = _load(during)
    assert (job.status, job.dispatched_at) == (JobStatus.QUEUED, None)

    cluster.redis.start()
    assert cluster.redis.pending_messages() == 0, "the restarted Redis kept its messages"
    cluster.start_worker()
    assert reconcile() == 2

    for job_id in (sent_before, during):
        job = cluster.wait_for_job(job_id, _succeeded, "SUCCEEDED after the broker restart")
        assert job.attempts == 1


@pytest.mark.redis
def test_a_message_deleted_from_redis_is_resent_by_the_reconciler(cluster: Cluster):
    job_id = enqueue_selftest(steps=2, step_seconds=0)
    assert _load(job_id).dispatched_at is not None
    assert cluster.redis.pending_messages() == 1
    with cluster.redis.client() as client:
        client.flushdb()

    cluster.start_worker()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # a worker is up, but nothing tells it about the job
        job = _load(job_id)
        assert (job.status, job.attempts) == (JobStatus.QUEUED, 0), _describe(job)
        time.sleep(0.2)

    assert reconcile() == 1
    job = cluster.wait_for_job(job_id, _succeeded, "SUCCEEDED after the resend")
    assert (job.attempts, job.progress_done) == (1, 2)


@pytest.mark.redis
def test_the_same_message_three_times_runs_the_job_once(cluster: Cluster):
    worker = cluster.start_worker()
    job_id = enqueue_selftest(steps=5, step_seconds=0.2)
    dispatch([job_id, job_id])  # duplicates while it is queued or running

    first_end = cluster.wait_for_job(job_id, _succeeded, "SUCCEEDED")
    dispatch([job_id])  # and a late one after it ended
    deadline = time.monotonic() + WAIT_SECONDS
    while cluster.redis.pending_messages():
        assert time.monotonic() < deadline, f"messages never consumed\n{cluster.worker_output()}"
        time.sleep(POLL_SECONDS)

    job = _load(job_id)
    assert (job.status, job.attempts, job.progress_done) == (JobStatus.SUCCEEDED, 1, 5)
    assert job.finished_at == first_end.finished_at
    assert worker.owns(job)
    assert "no longer ours" not in worker.output()


# In-process, on the suite's broker (the stub broker unless the suite runs on Redis) ------------


@dataclass
class InProcess:
    """The suite's broker, and a dramatiq worker in this process once started."""

    broker: dramatiq.Broker
    running: dramatiq.Worker | None = None

    def start_worker(self) -> None:
        self.running = start_worker(self.broker, threads=2)

    def drain(self) -> None:
        """Wait until every message sent so far has been processed."""
        assert self.running is not None
        self.broker.join("jobs", timeout=WAIT_SECONDS * 1000)
        self.running.join()


@pytest.fixture
def in_process(database_url: str, tmp_path: Path, settings: Settings) -> Iterator[InProcess]:
    own = make_settings(database_url, tmp_path, job_stale_seconds=STALE_SECONDS,
                        job_resend_seconds=0)
    context.configure(own)
    broker = install_broker(own.broker_url)
    broker.flush_all()  # nothing left over from an earlier test
    harness = InProcess(broker)
    try:
        yield harness
    finally:
        if harness.running is not None:
            stop_worker(harness.running)
        context.configure(settings)


def test_in_process_a_job_whose_worker_died_is_run_again(in_process: InProcess):
    with session_scope(context.engine()) as session:
        job_id = start_selftest(session, steps=3, step_seconds=0, requested_by_id=None,
                                subject=_subject()).job.id
    in_process.broker.flush_all()  # its message (sent at commit) went to the worker that died
    dead = "dead-host:1:1"
    with session_scope(context.engine()) as session:
        assert claim(session, job_id, dead) is not None
        session.execute(update(Job).where(Job.id == job_id).values(
            heartbeat_at=utcnow() - dt.timedelta(seconds=60)))

    in_process.start_worker()
    assert reconcile() == 1
    job = wait_for_job(job_id, _succeeded, "SUCCEEDED after the re-run")
    assert (job.attempts, job.progress_done) == (2, 3)
    assert job.worker_id != dead


def test_in_process_a_lost_message_is_resent_by_the_reconciler(in_process: InProcess):
    job_id = enqueue_selftest(steps=2, step_seconds=0)
    assert _load(job_id).dispatched_at is not None
    in_process.broker.flush_all()  # the message is lost

    in_process.start_worker()
    time.sleep(1)
    job = _load(job_id)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 0), _describe(job)

    assert reconcile() == 1
    job = wait_for_job(job_id, _succeeded, "SUCCEEDED after the resend")
    assert job.attempts == 1


def test_in_process_duplicate_messages_run_the_job_once(in_process: InProcess):
    in_process.start_worker()
    job_id = enqueue_selftest(steps=3, step_seconds=0.1)
    dispatch([job_id, job_id])
    first_end = wait_for_job(job_id, _succeeded, "SUCCEEDED")
    dispatch([job_id])
    in_process.drain()

    job = _load(job_id)
    assert (job.status, job.attempts, job.progress_done) == (JobStatus.SUCCEEDED, 1, 3)
    assert job.finished_at == first_end.finished_at
