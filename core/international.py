"""Whether a subscriber may call a destination: international is closed unless opened.

One function decides, for forwards validation now and for the routing export:
a destination in the subscriber's own country calling code is domestic and
always allowed; any other is international and allowed only when the
subscriber's security group opens its country (ISO code) or one of its E.164
prefixes. No security group means no international calls (toll fraud).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from sqlmodel import Session, select

from core.models import SecurityGroupDestination


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


# As prefixes, for the proxies ---------------------------------------------------------------

# Deep enough for every calling code shared by several countries (NANP area codes are 3).
_MAX_NATIONAL_DEPTH = 4
_NANP_AREA_CODE_LENGTH = 3
# Digits completing a national prefix into sample numbers; several, so one lucky
# completion cannot make a prefix look like one country's.
_FILLS = ("2345678901234", "5551234567890", "8675309123456", "3456789012345",
          "9182736450918", "2000000000000", "7000000123456")


def _regions_under(code: int, national_prefix: str, lengths: Sequence[int]) -> set[str | None]:
    found: set[str | None] = set()
    for length in lengths:
        if length <= len(national_prefix):
            continue
        for fill in _FILLS:
            national = (national_prefix + fill)[:length]
            number = _parsed(f"+{code}{national}")
            found.add(phonenumbers.region_code_for_number(number) if number else None)
    return found


def _national_prefixes(code: int, region: str, prefix: str, lengths: Sequence[int]) -> list[str]:
    # North America's countries share +1 and differ by 3-digit area code: look at each.
    settled = len(prefix) >= (_NANP_AREA_CODE_LENGTH if code == 1 else 1)
    regions = _regions_under(code, prefix, lengths) - {None}
    if settled and region not in regions:
        return []
    if settled and regions == {region}:
        return [prefix]
    if len(prefix) >= _MAX_NATIONAL_DEPTH:
        return []  # still shared this deep: leave it closed, the safe direction
    return [found for digit in "0123456789"
            for found in _national_prefixes(code, region, prefix + digit, lengths)]


@functools.lru_cache(maxsize=512)
def country_prefixes(region: str) -> tuple[str, ...]:
    """The E.164 prefixes of one country (ISO code), as ``destination_allowed`` sees it.

    A calling code of one country is its own prefix (``GB`` -> ``+44`` when alone;
    ``FR`` -> ``+33``). A calling code shared by several countries is split by
    national prefix until each part belongs to one of them (``CA`` ->
    ``+1204``, ``+1226``...; ``US`` -> the US area codes, not Jamaica's ``+1876``).
    """
    code = phonenumbers.country_code_for_region(region)
    if code == 0:
        return ()
    if len(phonenumbers.region_codes_for_country_code(code)) == 1:
        return (f"+{code}",)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    lengths = (sorted(set(metadata.general_desc.possible_length or ()))
               if metadata and metadata.general_desc else [])
    found = [f"+{code}{national}" for digit in "0123456789"
             for national in _national_prefixes(code, region, digit, lengths)]
    return tuple(sorted(found))


def opening_prefixes(openings: Sequence[Opening]) -> set[str]:
    """Every E.164 prefix the openings allow, for a table lookup by prefix."""
    prefixes: set[str] = set()
    for opening in openings:
        if opening.prefix is not None:
            prefixes.add(opening.prefix)
        elif opening.country is not None:
            prefixes.update(country_prefixes(opening.country))
    return prefixes
