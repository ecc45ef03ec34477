"""Settings the API stores but the proxies do not apply say so in the schema.

The list is the one in README.md ("Stored, not applied yet"): when the proxies start
applying one of them, its label goes and this list shrinks with it.
"""

from __future__ import annotations

from graphql import GraphQLInputObjectType, GraphQLObjectType

from schema import build_schema
from schema.core.not_applied import NOT_APPLIED

LABELLED = {
    ("Subscriber", "voicemailToEmail"), ("Subscriber", "callGroup"),
    ("Subscriber", "pickupGroup"),
    ("SubscriberCreateInput", "voicemailToEmail"), ("SubscriberCreateInput", "callGroup"),
    ("SubscriberCreateInput", "pickupGroup"),
    ("SubscriberUpdateInput", "voicemailToEmail"), ("SubscriberUpdateInput", "callGroup"),
    ("SubscriberUpdateInput", "pickupGroup"),
    ("SubscriberFieldsInput", "voicemailToEmail"), ("SubscriberFieldsInput", "callGroup"),
    ("SubscriberFieldsInput", "pickupGroup"),
    ("TenantCreateInput", "smbcs"), ("TenantUpdateInput", "smbcs"),
}


def _labelled_fields() -> set[tuple[str, str]]:
    types = build_schema()._schema.type_map
    found = set()
    for name, graphql_type in types.items():
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInputObjectType):
            for field_name, field in graphql_type.fields.items():
                if NOT_APPLIED in (field.description or ""):
                    found.add((name, field_name))
    return found


def test_exactly_the_unapplied_settings_are_labelled():
    assert _labelled_fields() == LABELLED


def test_the_smbc_type_says_the_proxies_do_not_use_it_yet():
    smbc = build_schema()._schema.type_map["Smbc"]
    assert "do not use it yet" in (smbc.description or "")


def test_prepaid_plans_are_applied_and_say_how():
    # Balances are kept and the proxies refuse calls out once one is spent (core.prepaid).
    prepaid = build_schema()._schema.type_map["ServicePlan"].fields["prepaid"]  # type: ignore[union-attr]
    assert "not applied" not in (prepaid.description or "").lower()
    assert "402" in (prepaid.description or "")
