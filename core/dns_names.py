"""DNS name rules shared by settings, namespaces, tenant domains and verified domains."""

from __future__ import annotations

import ipaddress
import re

import idna

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_FQDN_LENGTH = 253
DNS_PORT = 53


class DnsNameError(ValueError):
    """The text is not a usable DNS name; the message says why."""


def check_label(label: str) -> str:
    """Return ``label`` lower-cased if it is a valid hostname label (LDH rule)."""
    lowered = label.lower()
    if not _LABEL.match(lowered):
        raise DnsNameError(
            f"{label!r} is not a DNS label: 1-63 letters, digits or hyphens, "
            "not starting or ending with a hyphen"
        )
    return lowered


def normalise_fqdn(name: str) -> str:
    """Return the ASCII (punycode) lower-case form of a fully qualified domain name.

    Internationalised names are converted with IDNA 2008 (UTS #46 mapping), a
    trailing dot is dropped, wildcards and single-label names are refused.
    """
    text = name.strip().rstrip(".")
    if not text:
        raise DnsNameError("domain name is empty")
    if "*" in text:
        raise DnsNameError("wildcard domain names are not allowed")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii").lower()
    except idna.IDNAError as error:
        raise DnsNameError(f"{name!r} is not a valid domain name ({error})") from None
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise DnsNameError(f"{name!r} is not a fully qualified domain name")
    for label in labels:
        check_label(label)
    if labels[-1].isdigit():
        raise DnsNameError(f"{name!r} looks like an IP address, not a domain name")
    if len(ascii_name) > MAX_FQDN_LENGTH:
        raise DnsNameError(f"{name!r} is longer than {MAX_FQDN_LENGTH} characters")
    return ascii_name


def is_subdomain(name: str, parent: str) -> bool:
    """True when ``name`` is ``parent`` itself or lies below it (both normalised)."""
    return name == parent or name.endswith("." + parent)


def parse_resolver(entry: str) -> tuple[str, int]:
    """The address and port of a resolver written as ip, ip:port, [ipv6]:port or a bare IPv6."""
    text = entry.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{entry!r} is not [address]:port")
        port = rest[1:] if rest else str(DNS_PORT)
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, str(DNS_PORT)
    ipaddress.ip_address(host)  # raises ValueError for anything but an address
    if not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{entry!r} has an invalid port")
    return host, int(port)
