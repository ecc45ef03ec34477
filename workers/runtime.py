"""Running workers and the scheduler, as separate processes or inside ``serve``."""

from __future__ import annotations

import logging
import threading
import time

import dramatiq
from dramatiq import Worker

from workers.registry import PERIODIC_TASKS, PeriodicTask

log = logging.getLogger(__name__)

SCHEDULER_TICK_SECONDS = 1.0


# How long an idle worker thread waits for a message before checking for shutdown.
WORKER_POLL_MS = 250


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
    """Start each periodic task when it is due, until ``stop`` is set."""
    tasks = PERIODIC_TASKS if tasks is None else tasks
    next_run = {task.name: time.monotonic() for task in tasks}
    log.info("scheduler started with %d periodic tasks", len(tasks))
    while not stop.is_set():
        now = time.monotonic()
        for task in tasks:
            if now >= next_run[task.name]:
                next_run[task.name] = now + task.interval_seconds
                try:
                    task.run()
                except Exception:
                    log.exception("periodic task %s failed", task.name)
        stop.wait(SCHEDULER_TICK_SECONDS)
    log.info("scheduler stopped")


def start_scheduler_thread(stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=run_scheduler, args=(stop,), name="scheduler", daemon=True)
    thread.start()
    return thread
