"""``wehostvoip jobs``: what the background workers are doing, from the operator's shell."""

from __future__ import annotations

import sys
import time
import uuid

import click
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core.jobs import TERMINAL_STATUSES
from core.models import Job, JobStatus

POLL_SECONDS = 0.5
BAR_WIDTH = 30


def parse_job_id(text: str) -> uuid.UUID:
    """A job's uuid, or the global id the API shows for it."""
    from schema.core.ids import id_of

    try:
        return uuid.UUID(text)
    except ValueError:
        found = id_of(text, "Job")
        if found is None:
            raise click.BadParameter(f"{text!r} is not a job id") from None
        return found


def list_jobs(engine: Engine, *, status: str | None, kind: str | None, limit: int) -> None:
    statement = select(Job).order_by(col(Job.created_at).desc()).limit(limit)
    if status:
        statement = statement.where(Job.status == JobStatus(status))
    if kind:
        statement = statement.where(Job.kind == kind)
    with Session(engine) as session:
        rows = session.exec(statement).all()
    if not rows:
        click.echo("no jobs")
        return
    click.echo(f"{'ID':36}  {'KIND':20}  {'STATUS':9}  {'PROGRESS':>9}  {'TRIES':>5}  CREATED")
    for job in rows:
        total = "?" if job.progress_total is None else str(job.progress_total)
        click.echo(f"{job.id!s:36}  {job.kind[:20]:20}  {job.status.value:9}  "
                   f"{f'{job.progress_done}/{total}':>9}  {job.attempts:>5}  "
                   f"{job.created_at:%Y-%m-%d %H:%M:%S}")


def render(job: Job) -> str:
    """One line: a bar (when the total is known), counts and the status."""
    if job.progress_total:
        filled = int(BAR_WIDTH * min(job.progress_done, job.progress_total) / job.progress_total)
        bar = "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"
        count = f"{job.progress_done}/{job.progress_total}"
    else:
        bar, count = "[" + "." * BAR_WIDTH + "]", str(job.progress_done)
    error = f" {job.error_code}" if job.error_code else ""
    return f"{bar} {count} {job.status.value}{error}"


def watch_job(engine: Engine, job_id: uuid.UUID) -> JobStatus:
    """Redraw the job's line until it ends; returns how it ended."""
    last = ""
    while True:
        with Session(engine) as session:
            job = session.get(Job, job_id)
        if job is None:
            raise click.ClickException(f"no job {job_id}")
        line = render(job)
        if line != last:
            # On a terminal the line is redrawn in place; in a pipe each change is a line.
            prefix = "\r" if sys.stdout.isatty() else ""
            suffix = "" if sys.stdout.isatty() else "\n"
            click.echo(f"{prefix}{line}{suffix}", nl=False)
            last = line
        if job.status in TERMINAL_STATUSES:
            if sys.stdout.isatty():
                click.echo()
            return job.status
        time.sleep(POLL_SECONDS)
