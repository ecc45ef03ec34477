"""Stopping long-running commands cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
import threading
from types import FrameType


def termination_event() -> threading.Event:
    """An event that is set when the process is asked to stop."""
    stop = threading.Event()

    def _request_stop(_signum: int, _frame: FrameType | None) -> None:
        # The handler runs in the main thread, possibly while that thread is
        # inside stop.wait() holding the event's lock; setting the event from
        # here could deadlock, so another thread sets it.
        threading.Thread(target=stop.set, name="stop-request", daemon=True).start()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    return stop
