"""Process-wide logging: structured records, the request they belong to, and no secrets.

Every record carries what it happened for, taken from context variables that
the API sets per request and the worker per job: ``request_id`` (the API's,
passed on to the jobs a request queues), ``viewer_id``, ``isp_id``, ``job_id``
and ``job_kind``. Records are JSON lines for log collectors, or text for people
(``WEHOSTVOIP_LOG_FORMAT``: ``auto`` picks JSON unless stderr is a terminal).

Secrets never reach the output: :class:`RedactSecrets` rewrites every record,
its message and arguments, hiding values that look like passwords, tokens, SIP
secrets, refresh tokens, CSRF values, bearer credentials and URL passwords.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

# What a record happened for; set by the API per request and by workers per job.
LOG_CONTEXT: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "wehostvoip_log_context", default=MappingProxyType({}))
CONTEXT_FIELDS = ("request_id", "viewer_id", "isp_id", "job_id", "job_kind")

REDACTED = "[redacted]"
QUIET_LOGGERS = ("alembic.runtime.migration", "aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool",
                 "httpcore", "httpx", "hpack", "urllib3", "msal", "google.auth",
                 "google_auth_httplib2", "googleapiclient.discovery_cache", "asyncio",
                 "multipart", "python_multipart", "psycopg")
# key=value, "key": "value" and key: value spellings of anything secret.
_SECRET_NAMES = (r"password|passwd|secret|token|refresh_token|access_token|id_token|"
                 r"api[_-]?key|authorization|csrf[_-]?token|sip_password|pin|code_verifier|"
                 r"private_key|client_secret|ha1b?")
_KEY_VALUE = re.compile(
    rf"""(?P<key>["']?\b[\w-]*?(?:{_SECRET_NAMES})\b["']?\s*[:=]\s*)(?P<quote>["']?)"""
    rf"""(?P<value>[^"'\s,;&}}]+)""", re.IGNORECASE)
# OAuth callbacks carry the authorization code and the consent state in their query.
_OAUTH_QUERY = re.compile(r"(?P<key>[?&](?:code|state)=)(?P<value>[^&\s\"']+)")
_BEARER = re.compile(r"(?P<key>\b(?:Bearer|Basic|Digest)\s+)(?P<value>[A-Za-z0-9._~+/=-]+)",
                     re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<key>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<value>[^@\s]+)(?=@)")
_API_TOKEN = re.compile(r"\bwhv_[A-Za-z0-9_-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    """The text with every secret-looking value replaced by ``[redacted]``."""
    text = _BEARER.sub(lambda m: f"{m['key']}{REDACTED}", text)
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{m['quote']}{REDACTED}", text)
    text = _OAUTH_QUERY.sub(lambda m: f"{m['key']}{REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m['key']}{REDACTED}", text)
    text = _API_TOKEN.sub(REDACTED, text)
    return _JWT.sub(REDACTED, text)


class RedactSecrets(logging.Filter):
    """Render each record's message once, redacted, so no formatter can print a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        for name, value in LOG_CONTEXT.get().items():
            setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = record.exc_text or redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS
                           if getattr(record, name, None))
        return f"{text} [{context}]" if context else text


def configure_logging(level: str = "INFO", log_format: str = "auto") -> None:
    handler = logging.StreamHandler(sys.stderr)
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(RedactSecrets())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # Libraries whose debug records carry what no pattern can recognise as secret
    # (SQL parameters, token responses, raw HTTP): only their problems are kept.
    # Alembic announces its context on every readiness check.
    quiet = max(logging.WARNING, logging.getLogger().level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Add fields to every record logged inside the block (this thread or task only)."""
    merged = {**LOG_CONTEXT.get(), **{name: value for name, value in values.items() if value}}
    token = LOG_CONTEXT.set(merged)
    try:
        yield
    finally:
        LOG_CONTEXT.reset(token)


def current_request_id() -> str | None:
    return LOG_CONTEXT.get().get("request_id")
