"""Where the actors and periodic tasks of the project are declared.

Actors bind to the broker that is installed when their module is imported, so
processes install the broker first and then call :func:`load_actors`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

# Modules declaring dramatiq actors; later features add theirs here.
ACTOR_MODULES: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeriodicTask:
    """Work the scheduler starts every ``interval_seconds``."""

    name: str
    interval_seconds: float
    run: Callable[[], None]


# Periodic tasks run by the scheduler; later features add theirs here.
PERIODIC_TASKS: list[PeriodicTask] = []


def load_actors() -> None:
    for module in ACTOR_MODULES:
        importlib.import_module(module)
