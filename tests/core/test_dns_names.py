from __future__ import annotations

import pytest

from core.dns_names import DnsNameError, check_label, is_subdomain, normalise_fqdn


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("a-b.c-d.example", "a-b.c-d.example"),
    ],
)
def test_normalises(given: str, expected: str):
    assert normalise_fqdn(given) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "localhost",
        "*.example.com",
        "-bad.example",
        "bad-.example",
        "a..b",
        "under_score.example",
        "192.0.2.1",
        "x" * 64 + ".example",
        ("a." * 127) + "com",
    ],
)
def test_refuses(bad: str):
    with pytest.raises(DnsNameError):
        normalise_fqdn(bad)


def test_labels():
    assert check_label("Kages") == "kages"
    with pytest.raises(DnsNameError):
        check_label("no.dots")


def test_is_subdomain():
    assert is_subdomain("a.kages.wehostvoip.io", "kages.wehostvoip.io")
    assert is_subdomain("kages.wehostvoip.io", "kages.wehostvoip.io")
    assert not is_subdomain("evilkages.wehostvoip.io", "kages.wehostvoip.io")
