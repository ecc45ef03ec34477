"""SIP credentials: generated passwords, Kamailio's digests, and re-deriving them."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.errors import DomainError, ErrorCode
from core.models import Subscriber
from core.settings import Settings
from core.sip_credentials import (
    ALPHABET,
    check_sip_password,
    digests,
    generate_sip_password,
    refresh_digests,
    sip_password_of,
    stored_credentials,
)
from tests.factories import make_customer, make_isp, make_subscriber, make_tenant


def test_digests_are_kamailios_ha1_and_ha1b():
    # Known values (md5sum of "alice:acme.example.com:s3cret" and
    # "alice@acme.example.com:acme.example.com:s3cret").
    assert digests("alice", "acme.example.com", "s3cret") == (
        "1e8382411e1230ef08c5508308f149eb", "efbd6635f8e9386a17e9a25a33b13fb9")


def test_digests_change_with_each_part():
    base = digests("alice", "acme.example.com", "s3cret")
    assert digests("bob", "acme.example.com", "s3cret") != base
    assert digests("alice", "other.example.com", "s3cret") != base
    assert digests("alice", "acme.example.com", "s3cret!") != base


def test_generated_passwords_are_long_typeable_and_different():
    passwords = {generate_sip_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert len(password) >= 20
        assert set(password) <= set(ALPHABET)
    assert not set("0Oo1lI") & set(ALPHABET)


@pytest.mark.parametrize(("password", "code"), [
    ("short1", ErrorCode.WEAK_PASSWORD),
    ("password1234", ErrorCode.WEAK_PASSWORD),
    ("with a space in it", ErrorCode.INVALID),
    ("naïve-password-é", ErrorCode.INVALID),
    ("x" * 65, ErrorCode.INVALID),
])
def test_chosen_passwords_must_be_strong_and_typeable(password: str, code: ErrorCode):
    with pytest.raises(DomainError) as refused:
        check_sip_password(password)
    assert refused.value.errors[0].code is code
    assert refused.value.errors[0].field == ("sip_password",)


def test_the_password_is_stored_encrypted_and_read_back(settings: Settings):
    stored = stored_credentials(settings, "alice", "acme.example.com", "Correct-Horse-42")
    assert "Correct-Horse-42" not in stored.sip_password_encrypted
    assert (stored.ha1, stored.ha1b) == digests("alice", "acme.example.com", "Correct-Horse-42")
    row = Subscriber(sip_password_encrypted=stored.sip_password_encrypted)
    assert sip_password_of(settings, row) == "Correct-Horse-42"


def test_refresh_digests_follows_a_new_domain(session: Session, settings: Settings):
    isp = make_isp(session)
    tenant = make_tenant(session, isp, make_customer(session, isp), domain="old.example.com")
    other = make_tenant(session, isp, make_customer(session, isp))
    stored = stored_credentials(settings, "alice", "old.example.com", "Correct-Horse-42")
    alice = make_subscriber(session, tenant, username="alice",
                            sip_password_encrypted=stored.sip_password_encrypted,
                            ha1=stored.ha1, ha1b=stored.ha1b)
    untouched = make_subscriber(session, other)
    tenant.domain = "new.example.com"
    assert refresh_digests(session, settings, tenant) == 1
    session.commit()
    session.expire_all()
    refreshed = session.get(Subscriber, alice.id)
    assert (refreshed.ha1, refreshed.ha1b) == digests("alice", "new.example.com",
                                                      "Correct-Horse-42")
    assert session.get(Subscriber, untouched.id).ha1 == "0" * 32

