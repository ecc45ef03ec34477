"""What actors run with: the process's settings and its synchronous database engine.

A worker process configures this once at start; tests configure it with their
own settings so that actors use the test's database.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from core.database import make_sync_engine
from core.settings import Settings, get_settings

_lock = threading.Lock()
_settings: Settings | None = None
_engine: Engine | None = None


def configure(settings: Settings) -> None:
    global _settings, _engine
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _settings = settings
        _engine = make_sync_engine(settings.resolved_database_url)


def settings() -> Settings:
    return _settings or get_settings()


def engine() -> Engine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = make_sync_engine(settings().resolved_database_url)
        return _engine
