"""Where a subscriber's forward leads, as the proxies carry it.

A forward is stored as dialled (``core.subscribers`` checks it when it is set).
The proxies need its destination: an extension of the subscriber's tenant stays
inside the tenant; anything else is turned into E.164 by the tenant's dial plan
with the subscriber's country and area codes, exactly as a call the subscriber
dials, and must be a destination the subscriber's security group allows, as a
direct call must. The routing export applies this at every export, so that a
dial-plan or security-group change that closes a destination also closes the
forwards to it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from core.dialplan_engine import RuleText, apply_rules
from core.errors import DomainError
from core.international import Opening, destination_allowed
from core.numbers import e164_of, parse_e164


def forward_destination(dialled: str, *, aliases: Collection[str], rules: Sequence[RuleText],
                        country_code: str, area_code: str,
                        openings: Sequence[Opening]) -> str | None:
    """The extension (as dialled) or the E.164 number with '+' the forward leads to, or
    None when it leads nowhere the subscriber may call (the forward is then off)."""
    if dialled in aliases:
        return dialled
    try:
        translated = apply_rules(rules, dialled, country_code, area_code).result
        e164 = e164_of(parse_e164(translated or dialled, ("forward",)))
    except DomainError:
        return None
    if not destination_allowed(e164, home_country_code=country_code, openings=openings):
        return None
    return e164
