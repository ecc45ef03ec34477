"""Process-wide logging set-up shared by every command."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # Alembic announces its context on every readiness check; keep only problems.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
