"""Whether a subscriber may call a destination: international is closed unless opened.

One function decides, for forwards validation now and for the routing export:
a destination in the subscriber's own country calling code is domestic and
always allowed; any other is international and allowed only when the
subscriber's security group opens its country (ISO code) or one of its E.164
prefixes. No security group means no international calls (toll fraud).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from sqlmodel import Session, select

from core.models import SecurityGroupDestination, Subscriber


@dataclass(frozen=True)
class Opening:
    """One destination a security group opens: a country, or an E.164 prefix."""

    country: str | None = None
    prefix: str | None = None


def _parsed(e164: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None


def is_international(e164: str, home_country_code: str) -> bool:
    number = _parsed(e164)
    return number is None or str(number.country_code) != home_country_code.lstrip("+")


def destination_allowed(e164: str, *, home_country_code: str,
                        openings: Sequence[Opening]) -> bool:
    """The rule itself, on plain values."""
    if not is_international(e164, home_country_code):
        return True
    number = _parsed(e164)
    region = phonenumbers.region_code_for_number(number) if number else None
    return any(
        (opening.country is not None and opening.country == region)
        or (opening.prefix is not None and e164.startswith(opening.prefix))
        for opening in openings
    )


def openings_of(session: Session, security_group_id: object) -> list[Opening]:
    if security_group_id is None:
        return []
    rows = session.exec(select(SecurityGroupDestination).where(
        SecurityGroupDestination.security_group_id == security_group_id))
    return [Opening(country=row.country, prefix=row.prefix) for row in rows]


def allowed_for_subscriber(session: Session, subscriber: Subscriber, e164: str) -> bool:
    """May this subscriber call (or forward to) this E.164 destination?"""
    return destination_allowed(e164, home_country_code=subscriber.country_code,
                               openings=openings_of(session, subscriber.security_group_id))
