"""Where the actors and periodic tasks of the project are declared.

Actors are declared with :func:`actor` against a placeholder broker and bound
to the real one by :func:`bind_actors` when a process installs its broker, so
importing an actor module never depends on what was installed first.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import dramatiq
from dramatiq.brokers.stub import StubBroker

P = ParamSpec("P")
R = TypeVar("R")


_PLACEHOLDER_BROKER = StubBroker()
_ACTORS: list[dramatiq.Actor[Any, Any]] = []


def actor(**options: Any) -> Callable[[Callable[P, R]], dramatiq.Actor[P, R]]:
    """Declare a dramatiq actor of this project (options as for ``dramatiq.actor``)."""

    def declare(function: Callable[P, R]) -> dramatiq.Actor[P, R]:
        declared = dramatiq.actor(broker=_PLACEHOLDER_BROKER, **options)(function)
        _ACTORS.append(declared)
        return declared

    return declare


def load_actors() -> None:
    """Import every module of the workers package: that declares all actors and handlers."""
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        importlib.import_module(f"workers.{module.name}")


def bind_actors(broker: dramatiq.Broker) -> None:
    """Make every declared actor send through, and be consumed from, ``broker``."""
    load_actors()
    for declared in _ACTORS:
        declared.broker = broker
        broker.declare_actor(declared)


@dataclass(frozen=True)
class PeriodicTask:
    """Work the scheduler starts every ``interval_seconds``."""

    name: str
    # Seconds, or a function giving them (read from the settings at each tick).
    interval_seconds: float | Callable[[], float]
    run: Callable[[], object]


# Periodic tasks run by the scheduler; later features add theirs here.
PERIODIC_TASKS: list[PeriodicTask] = []
