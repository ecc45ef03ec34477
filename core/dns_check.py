"""Looking for a TXT value in DNS: the check behind domain verification.

A pure function of the name, the expected value and the settings: no database.
The resolvers are the system's, or those the settings name. An answer that
says the record is not there (NXDOMAIN, no TXT at the name) is a result; a
resolver that does not answer, or answers with an error, is not: the caller
keeps what it knew and tries again later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.rdtypes.txtbase
import dns.resolver

from core.dns_names import parse_resolver
from core.settings import Settings

log = logging.getLogger(__name__)



class CheckOutcome(StrEnum):
    VERIFIED = "VERIFIED"  # a TXT record at the name holds exactly the expected value
    NOT_FOUND = "NOT_FOUND"  # no TXT record at the name
    WRONG_VALUE = "WRONG_VALUE"  # TXT records, none of them the expected value
    UNREACHABLE = "UNREACHABLE"  # the resolvers did not answer; nothing is known


@dataclass(frozen=True)
class DnsUnreachable:
    """No usable answer: a timeout, SERVFAIL or REFUSED, or no resolver at all."""

    reason: str


@dataclass(frozen=True)
class DnsCheck:
    outcome: CheckOutcome
    reason: str = ""  # why the resolvers could not be asked, for UNREACHABLE


def make_resolver(settings: Settings) -> dns.resolver.Resolver:
    """A resolver for the settings' servers, or the system's when none are named."""
    resolver = dns.resolver.Resolver(configure=not settings.dns_resolvers)
    if settings.dns_resolvers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(*parse_resolver(entry))
                                for entry in settings.dns_resolvers]
    # One bound for each server's answer and for the whole lookup: a check never
    # takes longer than the setting, however many servers there are.
    resolver.timeout = settings.dns_timeout_seconds
    resolver.lifetime = settings.dns_timeout_seconds
    return resolver


def _text_of(rdata: dns.rdtypes.txtbase.TXTBase) -> str:
    # A TXT record is a sequence of character-strings; like SPF (RFC 7208, 3.3),
    # we read it as their concatenation, so a long value may be split.
    return b"".join(rdata.strings).decode("utf-8", errors="replace")


def lookup_txt(name: str, settings: Settings) -> list[str] | DnsUnreachable:
    """The TXT records at ``name``, each as one string; empty when there are none."""
    try:
        answer = make_resolver(settings).resolve(f"{name}.", dns.rdatatype.TXT, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.Timeout:
        return DnsUnreachable(f"no DNS answer within {settings.dns_timeout_seconds:g} s")
    except dns.resolver.NoNameservers as error:
        log.info("TXT lookup of %s failed: %s", name, error)
        return DnsUnreachable("the DNS servers answered with an error (SERVFAIL or REFUSED)")
    except dns.exception.DNSException as error:
        log.warning("TXT lookup of %s failed: %s", name, error)
        return DnsUnreachable(f"DNS lookup failed ({type(error).__name__})")
    return [_text_of(rdata) for rdata in answer]


def outcome_of(expected: str, found: list[str] | DnsUnreachable) -> DnsCheck:
    """Compare what DNS holds with the expected value (exactly, case and all)."""
    if isinstance(found, DnsUnreachable):
        return DnsCheck(CheckOutcome.UNREACHABLE, found.reason)
    if expected in found:
        return DnsCheck(CheckOutcome.VERIFIED)
    return DnsCheck(CheckOutcome.WRONG_VALUE if found else CheckOutcome.NOT_FOUND)


def check_txt(name: str, expected: str, settings: Settings) -> DnsCheck:
    """Whether any TXT record at ``name`` holds ``expected``. Blocks for up to the timeout."""
    return outcome_of(expected, lookup_txt(name, settings))
