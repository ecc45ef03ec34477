"""The external services tests may need, and whether this machine has them.

Tests that need one carry its marker (``postgres``, ``redis``, ``rabbitmq``,
``kamailio``, ``browser``: a headless Chromium). When the service is absent
they are skipped with the reason;
with ``WEHOSTVOIP_TEST_REQUIRE_SERVICES=1`` (as in CI) they fail instead, so a
run that silently skipped them cannot pass.
"""

from __future__ import annotations

import os
import shutil
import socket
from functools import cache
from urllib.parse import urlsplit

POSTGRES_URL = os.environ.get(
    "WEHOSTVOIP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("WEHOSTVOIP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RABBITMQ_URL = os.environ.get("WEHOSTVOIP_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")

# Which database and broker the whole suite runs against.
TEST_DATABASE = os.environ.get("WEHOSTVOIP_TEST_DATABASE", "sqlite")
TEST_BROKER = os.environ.get("WEHOSTVOIP_TEST_BROKER", "stub")
REQUIRE_SERVICES = os.environ.get("WEHOSTVOIP_TEST_REQUIRE_SERVICES") == "1"

SERVICE_MARKERS = ("postgres", "redis", "rabbitmq", "kamailio", "browser")


@cache
def postgres_problem() -> str | None:
    import psycopg

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL unreachable at {POSTGRES_URL}: {str(error).strip()}"
    return None


@cache
def redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis unreachable at {REDIS_URL}: {error}"
    return None


@cache
def rabbitmq_problem() -> str | None:
    parts = urlsplit(RABBITMQ_URL)
    try:
        socket.create_connection((parts.hostname, parts.port or 5672), timeout=3).close()
    except OSError as error:
        return f"RabbitMQ unreachable at {parts.hostname}:{parts.port or 5672}: {error}"
    return None


@cache
def kamailio_problem() -> str | None:
    missing = [binary for binary in ("kamailio", "sipp") if shutil.which(binary) is None]
    if missing:
        return f"not installed: {', '.join(missing)}"
    return None


@cache
def browser_problem() -> str | None:
    from tests.browser import chromium_binary

    if chromium_binary() is None:
        return "not installed: chromium"
    return None


def service_problem(marker: str) -> str | None:
    """Why the service behind ``marker`` cannot be used, or None when it can."""
    return {
        "postgres": postgres_problem,
        "redis": redis_problem,
        "rabbitmq": rabbitmq_problem,
        "kamailio": kamailio_problem,
        "browser": browser_problem,
    }[marker]()
