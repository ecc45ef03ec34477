"""SIP credentials: generated passwords, and the digests the proxies authenticate with.

Kamailio's auth_db module checks a phone's answer to a digest challenge against
``ha1`` = md5("username:realm:password"), or ``ha1b`` =
md5("username@domain:realm:password") for phones that put the domain in the
user name. The realm is the tenant's domain. The password itself is kept
encrypted (it must be shown again and re-hashed), never in clear: when a
tenant's domain changes, :func:`refresh_digests` derives new digests from it.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, select

from core.errors import DomainError, ErrorCode
from core.models import Subscriber, Tenant
from core.passwords import check_strength
from core.secrets import secret_box
from core.settings import Settings

GENERATED_LENGTH = 24
MAX_LENGTH = 64
# Letters and digits only: typed on phone keypads and pasted into provisioning forms,
# where symbols get mangled. Look-alikes (0 O o, 1 l I) are left out for the same reason.
ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0Oo1lI")
# Byte b stands for ALPHABET[b % len(ALPHABET)]; bytes from the last whole multiple of the
# alphabet's size up would favour its first characters, so they are dropped.
_EVEN_LIMIT = 256 - 256 % len(ALPHABET)
_BYTE_TO_CHARACTER = bytes(ord(ALPHABET[byte % len(ALPHABET)]) for byte in range(256))
_UNEVEN_BYTES = bytes(range(_EVEN_LIMIT, 256))
# Printable ASCII without spaces: what phones' configuration screens accept.
_TYPEABLE = frozenset(string.printable) - frozenset(string.whitespace)


@dataclass(frozen=True)
class StoredCredentials:
    """The columns a subscriber keeps for its SIP password."""

    sip_password_encrypted: str
    ha1: str
    ha1b: str


def generate_sip_password(length: int = GENERATED_LENGTH) -> str:
    """A random password of ``length`` characters (24: about 140 bits).

    Random bytes mapped onto the alphabet, dropping those past the last whole
    multiple of its size so that every character stays equally likely. The
    mapping is one ``bytes.translate``: a directory import makes tens of
    thousands of passwords at once.
    """
    chosen = b""
    while len(chosen) < length:
        chosen += secrets.token_bytes(length * 2).translate(_BYTE_TO_CHARACTER, _UNEVEN_BYTES)
    return chosen[:length].decode("ascii")


def check_sip_password(password: str, *, email: str = "", name: str = "",
                       field: tuple[str, ...] = ("sip_password",)) -> str:
    """A password chosen by a person: long, uncommon, not made of their name, typeable."""
    if len(password) > MAX_LENGTH or not set(password) <= _TYPEABLE:
        raise DomainError.single(
            ErrorCode.INVALID, f"use up to {MAX_LENGTH} printable ASCII characters without "
            "spaces (phones cannot type others)", *field)
    check_strength(password, email=email, full_name=name, field=field)
    return password


def _md5(text: str) -> str:
    # MD5 is what SIP digest authentication (RFC 2617) and the proxies' tables use.
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def digests(username: str, domain: str, password: str) -> tuple[str, str]:
    """(ha1, ha1b) exactly as Kamailio's auth_db computes them; the realm is the domain."""
    return (_md5(f"{username}:{domain}:{password}"),
            _md5(f"{username}@{domain}:{domain}:{password}"))


def stored_credentials(settings: Settings, username: str, domain: str,
                       password: str) -> StoredCredentials:
    ha1, ha1b = digests(username, domain, password)
    encrypted = secret_box(settings.secret_key_bytes()).encrypt(password)
    return StoredCredentials(sip_password_encrypted=encrypted, ha1=ha1, ha1b=ha1b)


def sip_password_of(settings: Settings, subscriber: Subscriber) -> str:
    return secret_box(settings.secret_key_bytes()).decrypt(subscriber.sip_password_encrypted)


def refresh_digests(session: Session, settings: Settings, tenant: Tenant) -> int:
    """Derive every subscriber's digests again for the tenant's current domain.

    Call it in the transaction that changes the domain. Returns how many
    subscribers were updated.
    """
    rows = session.exec(select(Subscriber.id, Subscriber.username,
                               Subscriber.sip_password_encrypted)
                        .where(Subscriber.tenant_id == tenant.id)).all()
    box = secret_box(settings.secret_key_bytes())
    changes = []
    for subscriber_id, username, encrypted in rows:
        ha1, ha1b = digests(username, tenant.domain, box.decrypt(encrypted))
        changes.append({"id": subscriber_id, "ha1": ha1, "ha1b": ha1b})
    if changes:
        # One executemany UPDATE by primary key, however many subscribers there are.
        session.execute(update(Subscriber), changes)
    return len(changes)
