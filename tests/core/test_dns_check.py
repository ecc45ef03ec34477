"""The TXT check against a real DNS server on loopback (UDP), one answer shape at a time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core.dns_check import (
    CheckOutcome,
    DnsUnreachable,
    check_txt,
    lookup_txt,
    make_resolver,
)
from core.dns_names import parse_resolver
from core.settings import Settings
from tests.dns_server import DnsServer, Mode

NAME = "_wehostvoip-challenge.example.com"
VALUE = "wehostvoip-verify=0123456789abcdefABCDEF_-xyzXYZ012"


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
def settings(dns: DnsServer) -> Settings:
    return Settings(_env_file=None, **dns.settings())


def test_the_expected_value_is_found(dns: DnsServer, settings: Settings):
    dns.set_txt(NAME, [VALUE])
    assert check_txt(NAME, VALUE, settings).outcome is CheckOutcome.VERIFIED
    assert dns.queries == [NAME]


def test_a_missing_name_and_a_name_without_txt_are_not_found(dns: DnsServer, settings: Settings):
    assert check_txt(NAME, VALUE, settings).outcome is CheckOutcome.NOT_FOUND  # NXDOMAIN
    dns.set_txt(NAME, [])
    assert lookup_txt(NAME, settings) == []  # NOERROR without an answer
    assert check_txt(NAME, VALUE, settings).outcome is CheckOutcome.NOT_FOUND


def test_another_value_is_the_wrong_value(dns: DnsServer, settings: Settings):
    dns.set_txt(NAME, ["wehostvoip-verify=someone-elses-token"])
    assert check_txt(NAME, VALUE, settings).outcome is CheckOutcome.WRONG_VALUE
    dns.set_txt(NAME, [VALUE.upper()])  # the comparison is exact
    assert check_txt(NAME, VALUE, settings).outcome is CheckOutcome.WRONG_VALUE
    dns.set_txt(NAME, [VALUE + " "])
    assert check_txt(NAME, VALUE, settings).outcome is CheckOutcome.WRONG_VALUE


def test_a_record_split_into_several_strings_is_read_whole(dns: DnsServer, settings: Settings):
    dns.set_txt(NAME, [[VALUE[:10], VALUE[10:20], VALUE[20:]]])
    assert lookup_txt(NAME, settings) == [VALUE]
    assert check_txt(NAME, VALUE, settings).outcome is CheckOutcome.VERIFIED


def test_one_matching_record_among_several_is_enough(dns: DnsServer, settings: Settings):
    dns.set_txt(NAME, ["v=spf1 -all", ["google-site-", "verification=abc"], VALUE])
    assert sorted(lookup_txt(NAME, settings)) == sorted(
        ["v=spf1 -all", "google-site-verification=abc", VALUE])
    assert check_txt(NAME, VALUE, settings).outcome is CheckOutcome.VERIFIED


def test_a_silent_server_is_unreachable_within_the_timeout(dns: DnsServer, settings: Settings):
    dns.set_txt(NAME, [VALUE])
    dns.mode = Mode.DROP
    started = time.monotonic()
    check = check_txt(NAME, VALUE, settings)
    elapsed = time.monotonic() - started
    assert check.outcome is CheckOutcome.UNREACHABLE
    assert check.reason == "no DNS answer within 1 s"
    assert 0.9 <= elapsed < 3, elapsed
    assert dns.queries, "the resolver never asked the server"


def test_servfail_is_unreachable_not_missing(dns: DnsServer, settings: Settings):
    dns.mode = Mode.SERVFAIL
    found = lookup_txt(NAME, settings)
    assert isinstance(found, DnsUnreachable)
    assert "SERVFAIL" in found.reason


def test_a_closed_port_is_unreachable():
    with DnsServer() as elsewhere:
        closed = Settings(_env_file=None, **elsewhere.settings())
    assert check_txt(NAME, VALUE, closed).outcome is CheckOutcome.UNREACHABLE


@pytest.mark.parametrize(("entry", "expected"), [
    ("192.0.2.53", ("192.0.2.53", 53)),
    ("192.0.2.53:5353", ("192.0.2.53", 5353)),
    ("2001:db8::53", ("2001:db8::53", 53)),
    ("[2001:db8::53]", ("2001:db8::53", 53)),
    ("[2001:db8::53]:5353", ("2001:db8::53", 5353)),
    (" [::1]:53 ", ("::1", 53)),
])
def test_resolver_entries(entry: str, expected: tuple[str, int]):
    assert parse_resolver(entry) == expected


@pytest.mark.parametrize("entry", [
    "dns.example.com", "192.0.2.53:0", "192.0.2.53:65536", "192.0.2.53:x", "[2001:db8::53",
    "[2001:db8::53]5353", "[2001:db8::53]:", "[192.0.2.300]:53",
])
def test_bad_resolver_entries_are_refused(entry: str):
    with pytest.raises(ValueError):  # noqa: PT011 - the address parser's own errors vary
        parse_resolver(entry)


def test_the_resolver_asks_exactly_the_configured_servers():
    settings = Settings(_env_file=None, dns_resolvers="192.0.2.53:5353,2001:db8::53",
                        dns_timeout_seconds=2.5)
    resolver = make_resolver(settings)
    assert [(ns.address, ns.port) for ns in resolver.nameservers] == [  # type: ignore[union-attr]
        ("192.0.2.53", 5353), ("2001:db8::53", 53)]
    assert resolver.lifetime == resolver.timeout == 2.5
