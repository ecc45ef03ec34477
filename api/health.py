"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import anyio
import httpx
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse

from core import migrations
from core.models import SipProxy
from workers.broker import BrokerUnavailableError, check_connection, make_broker

log = logging.getLogger(__name__)


async def healthz(_request: Request) -> JSONResponse:
    """The process is alive and serving requests."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when the database is reachable and migrated (503 otherwise).

    The broker and the SIP proxies are reported too; either being down makes the
    answer ``degraded`` but still 200: this replica serves requests, jobs wait
    for the broker (and are sent again once it is back), calls go on through the
    proxies that answer. A proxy that answers but failed its last reload (it
    routes by tables older than the export) is ``degraded`` too, reported as
    ``reload failed: <Kamailio's reason>`` (e.g. out of shared memory).
    """
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            up_to_date = await connection.run_sync(migrations.is_up_to_date)
            proxies = (await connection.execute(
                select(col(SipProxy.name), col(SipProxy.rpc_url), col(SipProxy.last_error))
                .where(col(SipProxy.enabled))
                .order_by(col(SipProxy.name)))).all() if up_to_date else []
    except (SQLAlchemyError, OSError) as error:
        log.warning("readiness check: database unreachable: %s", error)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not up_to_date:
        return JSONResponse({"status": "unavailable", "database": "not migrated"}, status_code=503)
    settings = request.app.state.settings
    broker = await anyio.to_thread.run_sync(_broker_state, settings.broker_url)
    with anyio.move_on_after(PROXY_CHECK_SECONDS * 2):
        states = await _proxy_states(proxies)
    report: dict[str, Any] = {"database": "ok", "broker": broker,
                              "proxies": {name: _proxy_report(states.get(name, "unreachable"),
                                                              error)
                                          for name, _url, error in proxies}}
    degraded = broker != "ok" or any(state != "ok" for state in report["proxies"].values())
    return JSONResponse({"status": "degraded" if degraded else "ready", **report})


PROXY_CHECK_SECONDS = 1.0


@functools.lru_cache(maxsize=4)
def _broker(url: str) -> Any:
    # One client per URL for the life of the process, not a new pool per check.
    return make_broker(url)


def _broker_state(url: str) -> str:
    try:
        check_connection(_broker(url))
    except BrokerUnavailableError as error:
        log.warning("readiness check: broker unreachable: %s", error)
        return "unreachable"
    return "ok"


def _proxy_report(state: str, last_error: str | None) -> str:
    """What /readyz says of one proxy: unreachable, its failed reload (cleared by the next
    successful one), or ok."""
    if state == "ok" and last_error:
        return f"reload failed: {last_error}"
    return state


async def _proxy_states(proxies: Sequence[Any]) -> dict[str, str]:
    """Each proxy's JSON-RPC answers a harmless call within a second, or not."""
    states: dict[str, str] = {}

    async def check(client: httpx.AsyncClient, name: str, url: str) -> None:
        try:
            answer = await client.post(url, json={"jsonrpc": "2.0", "method": "core.version",
                                                  "id": 1})
            states[name] = "ok" if answer.status_code == 200 else "unreachable"
        except httpx.HTTPError:
            states[name] = "unreachable"

    async with httpx.AsyncClient(timeout=PROXY_CHECK_SECONDS) as client, \
            anyio.create_task_group() as group:
        for name, url, _error in proxies:
            group.start_soon(check, client, name, url)
    return states
