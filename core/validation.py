"""Checks and normalisation of the values people type in, one function per kind.

Each returns the normalised value or raises DomainError naming the field.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from core.dns_names import DnsNameError, check_label
from core.errors import DomainError, ErrorCode

# Labels that would look like the platform's own services under the base domain.
RESERVED_LABELS = frozenset(
    {
        "admin", "api", "app", "auth", "billing", "cdn", "console", "dashboard", "dev",
        "dns", "docs", "ftp", "help", "imap", "login", "mail", "media", "mx", "ns", "ns1",
        "ns2", "ntp", "pbx", "platform", "pop", "portal", "proxy", "root", "sbc", "sip",
        "smtp", "stage", "staging", "static", "status", "stun", "support", "test", "turn",
        "uc", "voip", "webmail", "www",
    }
)

_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Control characters (tab, CR, LF, NUL...), surrogates, and the line and paragraph separators.
_NOT_IN_ONE_LINE = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _invalid(message: str, field: tuple[str, ...]) -> DomainError:
    return DomainError.single(ErrorCode.INVALID, message, *field)


def email_address(value: str, field: tuple[str, ...]) -> str:
    """A deliverable-looking address, lower-cased (addresses are compared case-insensitively)."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise _invalid(f"not a valid e-mail address: {error}", field) from None
    return result.normalized.lower()


def e164_phone(value: str, field: tuple[str, ...]) -> str:
    """A phone number in E.164 form with its '+'."""
    text = value.strip()
    if not text.startswith("+"):
        raise _invalid("write the number in E.164 form, starting with + and the country code",
                       field)
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as error:
        raise _invalid(f"not a phone number: {error}", field) from None
    if not phonenumbers.is_valid_number(number):
        raise _invalid("not a valid phone number for its country code", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def currency_code(value: str, field: tuple[str, ...]) -> str:
    code = value.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise _invalid(f"{value!r} is not an ISO 4217 currency code", field)
    return code


def country_code(value: str, field: tuple[str, ...]) -> str:
    """An ISO 3166-1 alpha-2 country code, or empty when none was given."""
    code = value.strip().upper()
    if code and (len(code) != 2 or pycountry.countries.get(alpha_2=code) is None):
        raise _invalid(f"{value!r} is not an ISO 3166-1 alpha-2 country code", field)
    return code


def hex_colour(value: str | None, field: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if not _HEX_COLOUR.match(value):
        raise _invalid("write colours as #RRGGBB", field)
    return value.lower()


def namespace_label(value: str, field: tuple[str, ...]) -> str:
    """A DNS label that is not reserved for the platform."""
    try:
        label = check_label(value.strip())
    except DnsNameError as error:
        raise _invalid(str(error), field) from None
    if label in RESERVED_LABELS or label.startswith("xn--"):
        raise DomainError.single(ErrorCode.RESERVED, f"{label!r} is reserved", *field)
    return label


def bounded_text(value: str, field: tuple[str, ...], *, max_length: int,
                 required: bool = False) -> str:
    """One line of text (a name, a description): no line breaks or other control
    characters, which would break the e-mail subjects, CSV cells and logs it ends up in."""
    text = value.strip()
    if any(unicodedata.category(character) in _NOT_IN_ONE_LINE for character in text):
        raise _invalid("write one line of text, without line breaks or control characters",
                       field)
    if required and not text:
        raise DomainError.single(ErrorCode.REQUIRED, "this field is required", *field)
    if len(text) > max_length:
        raise _invalid(f"use at most {max_length} characters", field)
    return text
