"""`wehostvoip jobs list` and `jobs watch`, and jobs that wait for the service to start."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session

from core import jobs
from core.database import make_sync_engine, session_scope
from core.models import Job, JobStatus
from core.selftest import start_selftest
from tests.cli.test_cli import COMMAND, _environment, free_port, run, start, stop, wait_for_line


def _database(tmp_path: Path) -> str:
    assert run(tmp_path, "migrate").returncode == 0
    return f"sqlite:///{tmp_path / 'var' / 'wehostvoip.db'}"


def _queued_selftest(url: str, steps: int, step_seconds: float) -> uuid.UUID:
    """A job committed but never handed to a broker, as if the process died right after."""
    engine = make_sync_engine(url)
    # This test process has no broker of the service's: nothing sends the job.
    previous = jobs.set_dispatcher(None)
    try:
        with session_scope(engine) as session:
            job = start_selftest(session, steps=steps, step_seconds=step_seconds,
                                 requested_by_id=None, subject=str(uuid.uuid4())).job
    finally:
        jobs.set_dispatcher(previous)
        engine.dispose()
    return job.id


def _set(url: str, job_id: uuid.UUID, **values: object) -> None:
    engine = make_sync_engine(url)
    with Session(engine) as session:
        session.execute(update(Job).where(Job.id == job_id).values(**values))
        session.commit()
    engine.dispose()


def test_list_shows_jobs_newest_first_and_filters(tmp_path: Path):
    url = _database(tmp_path)
    first = _queued_selftest(url, 3, 0)
    second = _queued_selftest(url, 3, 0)
    _set(url, first, status=JobStatus.FAILED, error_code="BOOM")
    listing = run(tmp_path, "jobs", "list")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "KIND", "STATUS"]
    assert [line.split()[0] for line in lines[1:]] == [str(second), str(first)]
    failed = run(tmp_path, "jobs", "list", "--status", "FAILED")
    assert [line.split()[0] for line in failed.stdout.splitlines()[1:]] == [str(first)]
    assert run(tmp_path, "jobs", "list", "--kind", "nothing").stdout.strip() == "no jobs"


def test_watch_exit_code_follows_how_the_job_ended(tmp_path: Path):
    url = _database(tmp_path)
    job_id = _queued_selftest(url, 4, 0)
    _set(url, job_id, status=JobStatus.SUCCEEDED, progress_done=4, progress_total=4)
    ok = run(tmp_path, "jobs", "watch", str(job_id))
    assert ok.returncode == 0
    assert ok.stdout.strip().splitlines()[-1] == "[" + "#" * 30 + "] 4/4 SUCCEEDED"
    _set(url, job_id, status=JobStatus.FAILED, error_code="SMTP_UNAVAILABLE")
    failed = run(tmp_path, "jobs", "watch", str(job_id))
    assert failed.returncode == 1
    assert failed.stdout.strip().endswith("FAILED SMTP_UNAVAILABLE")
    unknown = run(tmp_path, "jobs", "watch", str(uuid.uuid4()))
    assert unknown.returncode == 1
    assert "no job" in unknown.stderr


def test_a_job_queued_before_start_runs_when_serve_starts_and_watch_follows_it(
    tmp_path: Path
):
    url = _database(tmp_path)
    job_id = _queued_selftest(url, 6, 0.25)
    watcher = subprocess.Popen([*COMMAND, "jobs", "watch", str(job_id)], cwd=tmp_path,
                               env=_environment(tmp_path), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert watcher.stdout is not None
    # The service starts only once the watcher has seen the job waiting (on a busy
    # machine the watcher could otherwise start after the job did).
    first = watcher.stdout.readline()
    service = start(tmp_path, "serve", "--port", str(free_port()))
    try:
        wait_for_line(service, "serving on")
        output, _ = watcher.communicate(timeout=60)
    finally:
        code, rest = stop(service)
    assert watcher.returncode == 0, output
    lines = [first.strip(), *output.strip().splitlines()]
    assert lines[0].endswith("QUEUED")
    assert any("RUNNING" in line for line in lines)  # watched live, step by step
    assert lines[-1].endswith("6/6 SUCCEEDED")
    assert code == 0, rest
