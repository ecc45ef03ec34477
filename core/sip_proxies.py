"""SIP proxies: the Kamailio servers the routing export feeds, managed by platform operators.

A proxy names the PostgreSQL database whose tables it reads and the JSON-RPC
URL it is reloaded through. Several proxies may read one database; the export
writes each database once and reloads every enabled proxy reading it. The
database URL may carry a password, so it is stored encrypted and shown
without the password.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

from core import audit, validation
from core.catalogue import require_free_name
from core.errors import DomainError, ErrorCode, ErrorCollector, not_found
from core.models import SipProxy
from core.scoping import get_visible
from core.secrets import SecretBox
from core.viewer import Viewer

Check = Callable[[Any, tuple[str, ...]], Any]
_DATABASE_SCHEMES = ("postgres", "postgresql")


def database_url(value: str, field: tuple[str, ...]) -> str:
    """A PostgreSQL URL as Kamailio's db_postgres and libpq both read it."""
    text = value.strip()
    try:
        url = make_url(text)
    except ArgumentError:
        raise DomainError.single(ErrorCode.INVALID, "not a database URL "
                                 "(postgres://user:password@host:port/database)", *field) from None
    if url.drivername not in _DATABASE_SCHEMES or not url.host or not url.database:
        raise DomainError.single(ErrorCode.INVALID, "a postgres:// URL with a host and a "
                                 "database name is needed", *field)
    return text


def database_key(url: str) -> str:
    """The same key for every spelling of one database (password and scheme aside)."""
    parsed = make_url(url)
    identity = f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"
    return hashlib.sha256(identity.encode()).hexdigest()


def shown_url(url: str) -> str:
    return make_url(url).set(drivername="postgres").render_as_string(hide_password=True)


def rpc_url(value: str, field: tuple[str, ...]) -> str:
    text = value.strip()
    if not text.startswith(("http://", "https://")) or len(text) > 500 or " " in text:
        raise DomainError.single(ErrorCode.INVALID, "an http:// or https:// URL of the "
                                 "proxy's JSON-RPC endpoint is needed (e.g. "
                                 "http://10.0.0.5:5080/RPC)", *field)
    return text


_CHECKS: dict[str, Check] = {
    "name": partial(validation.bounded_text, max_length=100, required=True),
    "database_url": database_url,
    "rpc_url": rpc_url,
    "enabled": lambda value, field: bool(value),
}


def _require_platform(viewer: Viewer) -> None:
    if not viewer.is_platform_admin:
        raise DomainError.single(ErrorCode.NOT_PERMITTED,
                                 "only platform operators manage SIP proxies")


def _checked(session: Session, box: SecretBox, values: dict[str, Any],
             proxy_id: uuid.UUID | None = None) -> dict[str, Any]:
    errors = ErrorCollector()
    checked = {name: errors.check(_CHECKS[name], value, (name,))
               for name, value in values.items()}
    errors.raise_if_any()
    if (name := checked.get("name")) is not None:
        require_free_name(session, SipProxy, name, f"a proxy named {name!r} exists",
                          exclude_id=proxy_id)
    url = checked.pop("database_url", None)
    if url is not None:
        checked.update(database_url_encrypted=box.encrypt(url), database_display=shown_url(url),
                       database_key=database_key(url))
    return checked


def _audited(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name != "database_url_encrypted"}


def create_sip_proxy(session: Session, viewer: Viewer, box: SecretBox,
                     values: dict[str, Any]) -> SipProxy:
    _require_platform(viewer)
    checked = _checked(session, box, values)
    proxy = SipProxy(**checked)
    session.add(proxy)
    session.flush()
    audit.record(session, viewer, action="sip_proxy.create", object_type="SipProxy",
                 object_id=proxy.id, isp_id=None, changes=_audited(checked))
    return proxy


def _existing(session: Session, viewer: Viewer, proxy_id: uuid.UUID | None) -> SipProxy:
    proxy = get_visible(session, viewer, SipProxy, proxy_id)
    if proxy is None:
        raise not_found("SIP proxy", "id")
    _require_platform(viewer)
    return proxy


def update_sip_proxy(session: Session, viewer: Viewer, box: SecretBox,
                     proxy_id: uuid.UUID | None, changes: dict[str, Any]) -> SipProxy:
    proxy = _existing(session, viewer, proxy_id)
    checked = _checked(session, box, changes, proxy.id)
    if "database_key" in checked and checked["database_key"] != proxy.database_key:
        proxy.applied_generation = 0  # a new database: reloaded once it is exported
    proxy.sqlmodel_update(checked)
    session.add(proxy)
    session.flush()
    audit.record(session, viewer, action="sip_proxy.update", object_type="SipProxy",
                 object_id=proxy.id, isp_id=None, changes=_audited(checked))
    return proxy


def delete_sip_proxy(session: Session, viewer: Viewer, proxy_id: uuid.UUID | None) -> SipProxy:
    proxy = _existing(session, viewer, proxy_id)
    session.delete(proxy)
    session.flush()
    audit.record(session, viewer, action="sip_proxy.delete", object_type="SipProxy",
                 object_id=proxy.id, isp_id=None, changes={"name": proxy.name})
    return proxy


def proxy_database_url(box: SecretBox, proxy: SipProxy) -> str:
    return box.decrypt(proxy.database_url_encrypted)
