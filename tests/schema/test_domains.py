"""Verified domains through the API, checked against a real DNS server on loopback;
and the tenant-domain rule the tenants API builds on."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session
from starlette.applications import Starlette

from core import domains
from core.dns_check import CheckOutcome, DnsCheck
from core.domains import SYSTEM, apply_check, check_tenant_domain, namespace_domain
from core.errors import DomainError, ErrorCode
from core.models import (
    Administrator,
    Isp,
    Role,
    RoleGrant,
    Scope,
    VerifiedDomain,
    VerifiedDomainStatus,
)
from core.passwords import hash_password
from core.settings import Settings
from schema.core.ids import id_of, to_global_id
from tests.conftest import make_settings
from tests.dns_server import DnsServer, Mode
from tests.factories import make_customer, make_isp, make_tenant
from tests.graphql import PASSWORD, Client, SignedUp

FIELDS = "id fqdn status txtRecordName txtRecordValue lastCheckedAt verifiedAt isp { id }"

ADD = f"""
mutation($isp: ID, $fqdn: String!) {{
  domainAdd(input: {{isp: $isp, fqdn: $fqdn}}) {{
    verifiedDomain {{ {FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""

VERIFY = f"""
mutation($id: ID!) {{
  domainVerify(input: {{id: $id}}) {{
    verifiedDomain {{ {FIELDS} }}
    check {{ outcome message }}
    errors {{ field code message }}
  }}
}}
"""

REMOVE = """
mutation($id: ID!) { domainRemove(input: {id: $id}) { deletedId errors { field code message } } }
"""

LIST = """
query($filter: VerifiedDomainFilter, $orderBy: VerifiedDomainOrder) {
  verifiedDomains(filter: $filter, orderBy: $orderBy) { totalCount edges { node { fqdn status } } }
}
"""


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
def settings(database_url: str, tmp_path: Path, dns: DnsServer) -> Settings:
    """The suite's settings, checking domains against the test's DNS server."""
    return make_settings(database_url, tmp_path, **dns.settings())


async def _add(isp: SignedUp, fqdn: str, client: Client | None = None) -> dict[str, Any]:
    data = await (client or isp.client).execute(ADD, {"isp": isp.isp_id, "fqdn": fqdn})
    return data["domainAdd"]


async def _added(isp: SignedUp, fqdn: str) -> dict[str, Any]:
    payload = await _add(isp, fqdn)
    assert payload["errors"] == [], payload["errors"]
    return payload["verifiedDomain"]


async def _verify(client: Client, domain_id: str) -> dict[str, Any]:
    return (await client.execute(VERIFY, {"id": domain_id}))["domainVerify"]


def _publish(dns: DnsServer, domain: dict[str, Any]) -> None:
    dns.set_txt(domain["txtRecordName"], [domain["txtRecordValue"]])


def _codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def _listed(client: Client, **variables: Any) -> dict[str, Any]:
    return (await client.execute(LIST, variables))["verifiedDomains"]


async def _viewer_of(isp: SignedUp, app: Starlette, engine: Engine) -> Client:
    """A person with the VIEWER role in ``isp``, logged in."""
    with Session(engine) as session:
        person = Administrator(email="viewer@alpha.example", full_name="View Er",
                               password_hash=hash_password(PASSWORD))
        session.add(person)
        session.flush()
        session.add(RoleGrant(administrator_id=person.id, scope=Scope.ISP, role=Role.VIEWER,
                              isp_id=id_of(isp.isp_id, "Isp")))
        session.commit()
    client = Client(app)
    assert (await client.login("viewer@alpha.example"))["errors"] == []
    return client


def _age(engine: Engine, domain_id: str, days: int) -> None:
    with Session(engine) as session:
        session.execute(update(VerifiedDomain)
                        .where(VerifiedDomain.id == id_of(domain_id, "VerifiedDomain"))
                        .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days)))
        session.commit()


# Adding ---------------------------------------------------------------------------------------


async def test_an_added_domain_shows_the_record_to_publish(isp_a: SignedUp):
    domain = await _added(isp_a, " Example.COM. ")
    assert domain["fqdn"] == "example.com"
    assert domain["status"] == "PENDING"
    assert domain["isp"] == {"id": isp_a.isp_id}
    assert domain["txtRecordName"] == "_wehostvoip-challenge.example.com"
    assert re.fullmatch(r"wehostvoip-verify=[A-Za-z0-9_-]{32}", domain["txtRecordValue"])
    assert (domain["lastCheckedAt"], domain["verifiedAt"]) == (None, None)
    other = await _added(isp_a, "example.org")
    assert other["txtRecordValue"] != domain["txtRecordValue"]


async def test_international_names_are_kept_in_their_ascii_form(isp_a: SignedUp):
    domain = await _added(isp_a, "Bücher.example")
    assert domain["fqdn"] == "xn--bcher-kva.example"
    assert domain["txtRecordName"] == "_wehostvoip-challenge.xn--bcher-kva.example"
    again = await _add(isp_a, "xn--bcher-kva.example")
    assert _codes(again) == [(["fqdn"], "ALREADY_EXISTS")]


@pytest.mark.parametrize(("fqdn", "code"), [
    ("*.example.com", "INVALID"),
    ("exa mple.com", "INVALID"),
    ("localhost", "INVALID"),
    ("-bad.example.com", "INVALID"),
    ("192.0.2.1", "INVALID"),
    ("wehostvoip.test", "RESERVED"),
    ("alpha.wehostvoip.test", "RESERVED"),
    ("pbx.bravo.wehostvoip.test", "RESERVED"),
])
async def test_names_that_cannot_be_claimed_are_refused(isp_a: SignedUp, fqdn: str, code: str):
    payload = await _add(isp_a, fqdn)
    assert _codes(payload) == [(["fqdn"], code)]
    assert payload["verifiedDomain"] is None
    assert (await _listed(isp_a.client))["totalCount"] == 0


async def test_another_isps_id_is_answered_like_a_missing_one(isp_a: SignedUp, isp_b: SignedUp):
    theirs = await isp_a.client.execute(ADD, {"isp": isp_b.isp_id, "fqdn": "example.com"})
    unknown = await isp_a.client.execute(ADD, {"isp": to_global_id("Isp", uuid.uuid4()),
                                               "fqdn": "example.com"})
    not_an_isp = await isp_a.client.execute(ADD, {"isp": isp_a.administrator_id,
                                                  "fqdn": "example.com"})
    assert theirs == unknown == not_an_isp
    assert _codes(theirs["domainAdd"]) == [(["isp"], "NOT_FOUND")]


# Verifying ------------------------------------------------------------------------------------


async def test_a_check_reports_what_dns_holds(isp_a: SignedUp, dns: DnsServer):
    domain = await _added(isp_a, "example.com")
    missing = await _verify(isp_a.client, domain["id"])
    assert missing["check"]["outcome"] == "NOT_FOUND"
    assert "_wehostvoip-challenge.example.com" in missing["check"]["message"]
    assert missing["verifiedDomain"]["status"] == "PENDING"
    assert missing["verifiedDomain"]["lastCheckedAt"] is not None

    dns.set_txt(domain["txtRecordName"], ["wehostvoip-verify=not-the-token"])
    wrong = await _verify(isp_a.client, domain["id"])
    assert (wrong["check"]["outcome"], wrong["verifiedDomain"]["status"]) == (
        "WRONG_VALUE", "PENDING")

    value = domain["txtRecordValue"]
    dns.set_txt(domain["txtRecordName"], ["v=spf1 -all", [value[:20], value[20:]]])
    found = await _verify(isp_a.client, domain["id"])
    assert found["errors"] == []
    assert found["check"]["outcome"] == "VERIFIED"
    assert found["verifiedDomain"]["status"] == "VERIFIED"
    assert found["verifiedDomain"]["verifiedAt"] is not None


async def test_an_unreachable_resolver_changes_nothing(isp_a: SignedUp, dns: DnsServer):
    domain = await _added(isp_a, "example.com")
    _publish(dns, domain)
    dns.mode = Mode.DROP
    payload = await _verify(isp_a.client, domain["id"])
    assert payload["errors"] == []
    assert payload["check"]["outcome"] == "UNREACHABLE"
    assert "no DNS answer within 1 s" in payload["check"]["message"]
    assert payload["verifiedDomain"] == domain  # not even lastCheckedAt moved

    dns.mode = Mode.ANSWER
    assert (await _verify(isp_a.client, domain["id"]))["check"]["outcome"] == "VERIFIED"


async def test_a_pending_domain_not_found_in_time_fails_but_can_still_be_verified(
    isp_a: SignedUp, dns: DnsServer, engine: Engine, settings: Settings
):
    domain = await _added(isp_a, "example.com")
    _age(engine, domain["id"], settings.domain_pending_days)
    failed = await _verify(isp_a.client, domain["id"])
    assert (failed["check"]["outcome"], failed["verifiedDomain"]["status"]) == (
        "NOT_FOUND", "FAILED")
    _publish(dns, domain)
    assert (await _verify(isp_a.client, domain["id"]))["verifiedDomain"]["status"] == "VERIFIED"


async def test_once_verified_by_one_isp_no_other_can_add_it(
    isp_a: SignedUp, isp_b: SignedUp, dns: DnsServer
):
    domain = await _added(isp_a, "example.com")
    _publish(dns, domain)
    await _verify(isp_a.client, domain["id"])
    refused = await _add(isp_b, "EXAMPLE.com")
    assert _codes(refused) == [(["fqdn"], "ALREADY_EXISTS")]
    assert "another ISP" in refused["errors"][0]["message"]


async def test_pending_claims_coexist_until_one_isp_proves_it(
    isp_a: SignedUp, isp_b: SignedUp, dns: DnsServer
):
    ours = await _added(isp_a, "example.com")
    theirs = await _added(isp_b, "example.com")
    _publish(dns, ours)
    assert (await _verify(isp_a.client, ours["id"]))["verifiedDomain"]["status"] == "VERIFIED"

    dns.set_txt(theirs["txtRecordName"], [ours["txtRecordValue"], theirs["txtRecordValue"]])
    refused = await _verify(isp_b.client, theirs["id"])
    assert _codes(refused) == [(["fqdn"], "ALREADY_EXISTS")]
    assert refused["verifiedDomain"] is None
    still = await _listed(isp_b.client)
    assert still["edges"] == [{"node": {"fqdn": "example.com", "status": "PENDING"}}]


# Who may claim what: subdomains and lapsed domains ---------------------------------------------


async def _verified(isp: SignedUp, dns: DnsServer, fqdn: str) -> dict[str, Any]:
    domain = await _added(isp, fqdn)
    _publish(dns, domain)
    assert (await _verify(isp.client, domain["id"]))["verifiedDomain"]["status"] == "VERIFIED"
    return domain


async def test_a_verified_domain_reserves_its_subdomains_for_its_isp(
    isp_a: SignedUp, isp_b: SignedUp, dns: DnsServer
):
    early = await _added(isp_b, "sip.example.com")  # claimed before A proved example.com
    await _verified(isp_a, dns, "example.com")
    refused = await _add(isp_b, "pbx.Example.com")
    assert _codes(refused) == [(["fqdn"], "ALREADY_EXISTS")]
    assert "under example.com" in refused["errors"][0]["message"]
    assert _codes(await _add(isp_b, "a.b.example.com")) == [(["fqdn"], "ALREADY_EXISTS")]
    # A claim made before cannot be proven now either, whatever the TXT record says.
    _publish(dns, early)
    late = await _verify(isp_b.client, early["id"])
    assert _codes(late) == [(["fqdn"], "ALREADY_EXISTS")]
    # The owner itself may use them; a parent or a sibling domain is anyone's.
    await _verified(isp_a, dns, "pbx.example.com")
    assert (await _add(isp_b, "other-example.com"))["errors"] == []


async def test_a_parent_of_another_isps_domain_can_be_proven(
    isp_a: SignedUp, isp_b: SignedUp, dns: DnsServer
):
    await _verified(isp_a, dns, "pbx.example.org")
    await _verified(isp_b, dns, "example.org")


async def test_a_lapsed_domain_stays_reserved_for_its_owner_for_a_grace_period(
    isp_a: SignedUp, isp_b: SignedUp, dns: DnsServer, engine: Engine
):
    ours = await _verified(isp_a, dns, "example.net")
    dns.set_txt(ours["txtRecordName"], [])
    lapsed = await _verify(isp_a.client, ours["id"])
    assert lapsed["verifiedDomain"]["status"] == "LAPSED"

    refused = await _add(isp_b, "example.net")
    assert _codes(refused) == [(["fqdn"], "ALREADY_EXISTS")]
    assert "lapsed recently" in refused["errors"][0]["message"]
    assert _codes(await _add(isp_b, "sip.example.net")) == [(["fqdn"], "ALREADY_EXISTS")]

    with Session(engine) as session:  # the grace period (30 days) has passed
        session.execute(update(VerifiedDomain).where(
            VerifiedDomain.id == id_of(ours["id"], "VerifiedDomain")).values(
            lapsed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=31)))
        session.commit()
    await _verified(isp_b, dns, "example.net")


# Permissions, removal, listing -------------------------------------------------------------------


async def test_a_viewer_reads_domains_but_cannot_change_them(
    isp_a: SignedUp, app: Starlette, engine: Engine
):
    domain = await _added(isp_a, "example.com")
    viewer = await _viewer_of(isp_a, app, engine)
    assert (await _listed(viewer))["totalCount"] == 1
    assert _codes(await _add(isp_a, "example.org", viewer)) == [(None, "NOT_PERMITTED")]
    assert _codes(await _verify(viewer, domain["id"])) == [(None, "NOT_PERMITTED")]
    removed = (await viewer.execute(REMOVE, {"id": domain["id"]}))["domainRemove"]
    assert _codes(removed) == [(None, "NOT_PERMITTED")]
    await viewer.close()


async def test_a_domain_is_removed_unless_a_tenant_uses_it(
    isp_a: SignedUp, dns: DnsServer, engine: Engine
):
    unused = await _added(isp_a, "example.org")
    removed = (await isp_a.client.execute(REMOVE, {"id": unused["id"]}))["domainRemove"]
    assert removed == {"deletedId": unused["id"], "errors": []}
    node = await isp_a.client.execute("query($id: ID!) { node(id: $id) { id } }",
                                      {"id": unused["id"]})
    assert node["node"] is None

    used = await _added(isp_a, "example.com")
    with Session(engine) as session:
        isp = session.get_one(Isp, id_of(isp_a.isp_id, "Isp"))
        make_tenant(session, isp, make_customer(session, isp), name="Acme PBX",
                    domain="example.com", verified_domain_id=id_of(used["id"], "VerifiedDomain"))
    refused = (await isp_a.client.execute(REMOVE, {"id": used["id"]}))["domainRemove"]
    assert _codes(refused) == [(["id"], "IN_USE")]
    assert "Acme PBX" in refused["errors"][0]["message"]


async def test_lists_filter_by_status_and_isp_and_sort(isp_a: SignedUp, isp_b: SignedUp,
                                                      dns: DnsServer):
    added = {fqdn: await _added(isp_a, fqdn) for fqdn in ("b.example", "c.example", "a.example")}
    await _added(isp_b, "z.example")
    _publish(dns, added["b.example"])
    await _verify(isp_a.client, added["b.example"]["id"])

    everything = await _listed(isp_a.client)
    assert [edge["node"]["fqdn"] for edge in everything["edges"]] == [
        "a.example", "b.example", "c.example"]
    only_verified = await _listed(isp_a.client, filter={"status": ["VERIFIED"]})
    assert only_verified["edges"] == [{"node": {"fqdn": "b.example", "status": "VERIFIED"}}]
    pending = await _listed(isp_a.client, filter={"status": ["PENDING"], "isp": isp_a.isp_id},
                            orderBy={"field": "FQDN", "direction": "DESC"})
    assert [edge["node"]["fqdn"] for edge in pending["edges"]] == ["c.example", "a.example"]
    assert (await _listed(isp_a.client, filter={"isp": isp_b.isp_id}))["totalCount"] == 0


async def test_every_change_is_in_the_audit_log(isp_a: SignedUp, dns: DnsServer):
    domain = await _added(isp_a, "example.com")
    await _verify(isp_a.client, domain["id"])
    _publish(dns, domain)
    await _verify(isp_a.client, domain["id"])
    data = await isp_a.client.execute(
        '{ auditEvents(filter: {objectType: "VerifiedDomain"}) '
        "{ edges { node { action actorEmail objectId changes } } } }")
    events = [edge["node"] for edge in data["auditEvents"]["edges"]]
    assert [(event["action"], event["changes"].get("status")) for event in events] == [
        ("verified_domain.check", "VERIFIED"), ("verified_domain.check", "PENDING"),
        ("verified_domain.add", None)]
    assert {event["actorEmail"] for event in events} == {isp_a.email}
    assert {event["objectId"] for event in events} == {domain["id"]}
    assert "token" not in str(events)


# Rules that need no API -------------------------------------------------------------------------


def _domain(session: Session, isp: Isp, fqdn: str,
            status: VerifiedDomainStatus = VerifiedDomainStatus.VERIFIED) -> VerifiedDomain:
    row = VerifiedDomain(isp_id=isp.id, fqdn=fqdn, challenge_token="t", status=status)
    session.add(row)
    session.commit()
    return row


def test_the_database_keeps_one_verified_owner_when_checks_race(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    _domain(session, make_isp(session), "example.com")
    claim = _domain(session, make_isp(session), "example.com", VerifiedDomainStatus.PENDING)
    # As if this check had looked before the owner's verification was committed:
    monkeypatch.setattr(domains, "_held_elsewhere", lambda *_: None)
    with pytest.raises(DomainError) as raised:
        apply_check(session, settings, SYSTEM, claim, DnsCheck(CheckOutcome.VERIFIED))
    assert raised.value.errors[0].code is ErrorCode.ALREADY_EXISTS
    session.rollback()
    session.refresh(claim)
    assert claim.status is VerifiedDomainStatus.PENDING


# The tenant-domain rule (called by the tenants API) ---------------------------------------------


def _refusal(session: Session, isp: Isp, settings: Settings, domain: str) -> ErrorCode:
    with pytest.raises(DomainError) as raised:
        check_tenant_domain(session, isp, settings, domain)
    assert raised.value.errors[0].field == ("domain",)
    return raised.value.errors[0].code


def test_a_tenant_takes_one_label_of_the_namespace(session: Session, settings: Settings):
    isp = make_isp(session, namespace_label="kages")
    namespace = namespace_domain(isp, settings)
    assert namespace == "kages.wehostvoip.test"
    assert check_tenant_domain(session, isp, settings, "Customer1") == (
        "customer1.kages.wehostvoip.test", None)
    assert check_tenant_domain(session, isp, settings, "customer1.kages.wehostvoip.test.") == (
        "customer1.kages.wehostvoip.test", None)
    assert check_tenant_domain(session, isp, settings, "bücher")[0] == (
        "xn--bcher-kva.kages.wehostvoip.test")


@pytest.mark.parametrize(("domain", "code"), [
    ("a.b.kages.wehostvoip.test", ErrorCode.INVALID),
    ("kages.wehostvoip.test", ErrorCode.INVALID),
    ("*.kages.wehostvoip.test", ErrorCode.INVALID),
    ("-bad", ErrorCode.INVALID),
    ("", ErrorCode.INVALID),
    ("customer1.other.wehostvoip.test", ErrorCode.RESERVED),
    ("wehostvoip.test", ErrorCode.RESERVED),
    ("unknown.example", ErrorCode.NOT_PERMITTED),
])
def test_other_names_in_or_out_of_the_namespace_are_refused(
    session: Session, settings: Settings, domain: str, code: ErrorCode
):
    isp = make_isp(session, namespace_label="kages")
    assert _refusal(session, isp, settings, domain) is code


def test_a_tenant_takes_exactly_one_of_the_isps_verified_domains(session: Session,
                                                                 settings: Settings):
    isp, other = make_isp(session), make_isp(session)
    verified = _domain(session, isp, "example.com")
    assert check_tenant_domain(session, isp, settings, "EXAMPLE.com") == ("example.com", verified)
    assert _refusal(session, isp, settings, "pbx.example.com") is ErrorCode.NOT_PERMITTED
    for status in (VerifiedDomainStatus.PENDING, VerifiedDomainStatus.LAPSED):
        _domain(session, isp, f"{status.lower()}.example", status)
        assert _refusal(session, isp, settings, f"{status.lower()}.example") is (
            ErrorCode.NOT_PERMITTED)
    _domain(session, other, "theirs.example")
    assert _refusal(session, isp, settings, "theirs.example") is ErrorCode.NOT_PERMITTED


def test_a_domain_serves_one_tenant(session: Session, settings: Settings):
    isp = make_isp(session, namespace_label="kages")
    verified = _domain(session, isp, "example.com")
    customer = make_customer(session, isp)
    acme = make_tenant(session, isp, customer, domain="acme.kages.wehostvoip.test")
    corp = make_tenant(session, isp, customer, domain="example.com",
                       verified_domain_id=verified.id)
    assert _refusal(session, isp, settings, "acme") is ErrorCode.ALREADY_EXISTS
    assert _refusal(session, isp, settings, "example.com") is ErrorCode.ALREADY_EXISTS
    # A tenant being changed may keep the domain it has.
    assert check_tenant_domain(session, isp, settings, "acme", tenant_id=acme.id)[0] == (
        "acme.kages.wehostvoip.test")
    assert check_tenant_domain(session, isp, settings, "example.com", tenant_id=corp.id) == (
        "example.com", verified)
