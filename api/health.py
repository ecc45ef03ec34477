"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse

from core import migrations

log = logging.getLogger(__name__)


async def healthz(_request: Request) -> JSONResponse:
    """The process is alive and serving requests."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database is reachable and migrated to the revision this code expects."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            up_to_date = await connection.run_sync(migrations.is_up_to_date)
    except (SQLAlchemyError, OSError) as error:
        log.warning("readiness check: database unreachable: %s", error)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not up_to_date:
        return JSONResponse({"status": "unavailable", "database": "not migrated"}, status_code=503)
    return JSONResponse({"status": "ready", "database": "ok"})
