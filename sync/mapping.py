"""How a directory user becomes a subscriber: username, extension, caller ID, fingerprint.

Pure functions over plain values, shared by the preview, the import and every
re-sync, so that the three always agree.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import phonenumbers

from sync.directory import DirectoryUser

MAX_USERNAME = 64
_NOT_ALLOWED = re.compile(r"[^a-z0-9._+-]")
_ALIAS = re.compile(r"[0-9]{2,8}")
DEFAULT_ALIAS_START = 1000
_ALIAS_END = 100_000_000  # extensions have at most 8 digits


@dataclass(frozen=True)
class Defaults:
    """What every imported subscriber gets, chosen at discovery."""

    country_code: str
    area_code: str = ""
    security_group_id: uuid.UUID | None = None
    concurrent_calls: int = 2
    ring_timeout: int = 20
    voicemail_to_email: bool = False

    def to_json(self) -> dict[str, object]:
        values = asdict(self)
        values["security_group_id"] = (str(self.security_group_id)
                                       if self.security_group_id else None)
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any], country_code: str) -> Defaults:
        group = values.get("security_group_id")
        return cls(country_code=str(values.get("country_code") or country_code),
                   area_code=str(values.get("area_code") or ""),
                   security_group_id=uuid.UUID(str(group)) if group else None,
                   concurrent_calls=int(values.get("concurrent_calls") or 2),
                   ring_timeout=int(values.get("ring_timeout") or 20),
                   voicemail_to_email=bool(values.get("voicemail_to_email", False)))


def fingerprint(user: DirectoryUser) -> str:
    """A hash of everything sync reads from a user: equal means nothing to write.

    The fields' ``repr`` is unambiguous (quoted and escaped) and, unlike JSON, costs
    next to nothing: every user of a full listing is fingerprinted."""
    fields = (user.email, user.given_name, user.family_name, user.display_name,
              tuple(user.phones), user.department, user.state.value)
    return hashlib.sha256(repr(fields).encode()).hexdigest()


def display_name(user: DirectoryUser) -> str:
    name = user.display_name or " ".join(part for part in (user.given_name, user.family_name)
                                         if part)
    return name.strip()[:200]


def username_base(email: str, external_id: str) -> str:
    """The local part of the e-mail address, in the characters usernames allow."""
    local = email.split("@", 1)[0].lower()
    cleaned = _NOT_ALLOWED.sub("", local).lstrip("._+-")[:MAX_USERNAME]
    return cleaned or f"user{_NOT_ALLOWED.sub('', external_id.lower())[:20]}"


def free_username(base: str, taken: set[str]) -> str:
    """``base``, or ``base2``, ``base3``... whichever is free first: the same every time."""
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = str(number)
        candidate = base[:MAX_USERNAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1


def caller_id(phones: Sequence[str], tenant_numbers: frozenset[str]) -> str | None:
    """The first phone that is a valid E.164 number the tenant holds (carriers refuse others)."""
    if not tenant_numbers:
        return None
    for phone in phones:
        try:
            parsed = phonenumbers.parse(phone, None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if e164 in tenant_numbers:
                return e164
    return None


class AliasAllocator:
    """The next free extension from a start, skipping those in use and those the dial
    plan would rewrite as outside numbers."""

    def __init__(self, start: int, held: Iterable[str],
                 rejects: Sequence[re.Pattern[str]]) -> None:
        self._next = max(start, 10)
        self._held = set(held)
        self._rejects = rejects

    @property
    def position(self) -> int:
        """The next number to consider."""
        return self._next

    def first_free(self) -> int:
        """The next free number, not taken."""
        number = self._next
        while number < _ALIAS_END and not self.allowed(str(number)):
            number += 1
        return number

    def allowed(self, alias: str) -> bool:
        return (bool(_ALIAS.fullmatch(alias)) and alias not in self._held
                and not any(pattern.search(alias) for pattern in self._rejects))

    def take(self, alias: str) -> None:
        self._held.add(alias)

    def release(self, alias: str) -> None:
        self._held.discard(alias)

    def next(self, limit: str | None = None) -> str | None:
        """The next free extension (at most ``limit``, when given), taken."""
        end = int(limit) + 1 if limit is not None else _ALIAS_END
        while self._next < end:
            alias = str(self._next)
            self._next += 1
            if self.allowed(alias):
                self._held.add(alias)
                return alias
        return None

    def upcoming(self, count: int) -> list[str]:
        """The next ``count`` extension numbers to consider, whether free or not."""
        return [str(number) for number in range(self._next, min(self._next + count,
                                                                  _ALIAS_END))]
