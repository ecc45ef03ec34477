"""Running workers and the scheduler, as separate processes or inside ``serve``."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

import dramatiq
from dramatiq import Worker

from core.database import session_scope
from core.schedule import claim_run
from workers import context
from workers.registry import PERIODIC_TASKS, PeriodicTask

log = logging.getLogger(__name__)

SCHEDULER_TICK_SECONDS = 1.0


# How long an idle worker thread waits for a message before checking for shutdown. On
# Redis it is also the longest pause between polls of an idle worker (dramatiq backs off
# up to it): the delay before a job queued on a quiet platform starts (was 250 ms: a
# mutation waited 50-200 ms for its job to be claimed). A poll is one cheap script call.
WORKER_POLL_MS = 50


def start_worker(broker: dramatiq.Broker, threads: int) -> Worker:
    worker = Worker(broker, worker_threads=threads, worker_timeout=WORKER_POLL_MS)
    worker.start()
    queues = len(broker.get_declared_queues())
    log.info("worker started with %d threads, %d queues", threads, queues)
    return worker


def stop_worker(worker: Worker) -> None:
    # Let running messages finish; unacknowledged ones go back to the broker.
    worker.stop(timeout=30_000)
    log.info("worker stopped")


def run_scheduler(stop: threading.Event, tasks: list[PeriodicTask] | None = None) -> None:
    """Start each periodic task when the database says it is due, until ``stop`` is set."""
    tasks = PERIODIC_TASKS if tasks is None else tasks
    scheduler_id = f"{socket.gethostname()}:{os.getpid()}"
    log.info("scheduler %s started with %d periodic tasks", scheduler_id, len(tasks))
    while not stop.is_set():
        for task in tasks:
            _run_if_due(task, scheduler_id)
        stop.wait(SCHEDULER_TICK_SECONDS)
    log.info("scheduler stopped")


def _run_if_due(task: PeriodicTask, scheduler_id: str) -> None:
    # Due once the whole interval has passed: a task may start up to one tick late,
    # never early, so schedulers ticking out of phase cannot fire it twice.
    seconds = task.interval_seconds
    interval = dt.timedelta(seconds=seconds() if callable(seconds) else seconds)
    try:
        with session_scope(context.engine()) as session:
            due = claim_run(session, task.name, interval, scheduler_id)
        if due:
            task.run()
    except Exception:
        log.exception("periodic task %s failed", task.name)


def start_scheduler_thread(stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=run_scheduler, args=(stop,), name="scheduler", daemon=True)
    thread.start()
    return thread
