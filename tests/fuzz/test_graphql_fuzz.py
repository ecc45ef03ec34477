"""GraphQL fuzzing: schemathesis against the running service, as an ISP administrator.

The service runs as a real process on the suite's database (SQLite or PostgreSQL,
stub broker or Redis). An ISP administrator signs up, gets an API token and one
object of each main kind; schemathesis loads the schema by introspection and,
for every query and mutation field, sends a bounded, derandomized number of
generated documents, authenticated with ``Authorization: Bearer``: a few that
break the schema (negative) and more that fit it (positive). Random values
rarely name anything, so most positive documents get real ids (the ones seeded
and every one seen in a response since) and valid pages, so that the resolvers
get past "not found" into what they do.

What must hold for every response:
- no HTTP status of 500 or more, and a GraphQL response (a JSON object);
- no unexpected resolver exception: every error is a syntax or validation error,
  a refusal with a code (limits, NOT_PERMITTED, NOT_FOUND, INVALID_PAGINATION...),
  or a typed user error in a mutation payload; the masked "Unexpected error."
  (``extensions.code = INTERNAL_ERROR``) never appears.
And the run is not vacuous: every operation was sent, and the resolvers of
almost all of them answered at least once.

Strings are hostile one time in ten: NUL characters, lone UTF-16 surrogates and
other control characters (PostgreSQL stores none of them), which must be refused
with a code, never reach a resolver as an internal error.

Failures are collected, not raised, so the run stays bounded (no shrinking): each
distinct one is reported with the operation, the shortest document that showed
it, the response, and what the service logged for that request (the traceback).
``WEHOSTVOIP_FUZZ_CASES`` sets how many requests the run sends at least (2,500 by
default: CI runs the suite twice, on SQLite and on PostgreSQL, 5,000 in all);
``WEHOSTVOIP_FUZZ_EXAMPLES``, if set, the positive examples per operation instead.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import graphql
import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.core.transport import Response
from schemathesis.generation.modes import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.hooks import HookContext, HookDispatcher, HookScope
from sqlalchemy import Engine

from schema.core.ids import from_global_id
from schema.core.pagination import MAX_PAGE_SIZE
from tests.fuzz.conftest import FuzzService
from tests.graphql import LOGIN, PASSWORD, SIGN_UP, SIGN_UP_COMPLETE, last_link

CASES = int(os.environ.get("WEHOSTVOIP_FUZZ_CASES", "2500"))
EXAMPLES = os.environ.get("WEHOSTVOIP_FUZZ_EXAMPLES")
# A few operations take no argument: hypothesis sends those once, whatever was asked.
SPARE = 1.15
# Share of the operations whose resolver must have answered at least once.
MIN_ANSWERED_SHARE = 0.9
MIN_OPERATIONS = 100
MASKED_MESSAGE = "Unexpected error."
MASKED_CODE = "INTERNAL_ERROR"


# Scalars schemathesis has no strategy for ---------------------------------------------


# Text no field can hold: NUL, lone surrogates, control characters, and a mix.
HOSTILE_TEXT = st.one_of(
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "\x07bell", "\x1b[2J",
                     "line\r\nBcc: x@example.com"]),
    st.text(alphabet=st.characters(categories=["Cc", "Cs"]), min_size=1, max_size=8),
    st.text(alphabet=st.characters(codec=None, categories=["L", "N", "Cc", "Cs"]),
            min_size=1, max_size=12),
)


def is_hostile(document: str) -> bool:
    """Whether a document carries a NUL, a surrogate or a control character in a string."""
    return bool(re.search(r"\\u00[01][0-9A-Fa-f]|[\ud800-\udfff]|\\u[dD][89abAB]", document))


def _sometimes_hostile(usual: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.integers(0, 9).flatmap(
        lambda n: HOSTILE_TEXT if n == 0 else usual).map(nodes.String)


def _register_scalars() -> None:
    schemathesis.graphql.scalar("String", _sometimes_hostile(st.text(max_size=30)))
    schemathesis.graphql.scalar("ID", _sometimes_hostile(st.text(max_size=30)))
    # Any Decimal the scalar accepts, NaN, infinities and huge exponents included.
    schemathesis.graphql.scalar("Decimal", st.one_of(
        st.decimals().map(str), st.integers().map(str)).map(nodes.String))
    schemathesis.graphql.scalar("JSON", st.one_of(
        st.just(nodes.Null), st.booleans().map(nodes.Boolean), st.integers().map(nodes.Int),
        st.text(max_size=20).map(nodes.String)))
    # Files come in multipart requests; a client that writes a literal instead must be
    # told so, like any other wrong value.
    schemathesis.graphql.scalar("Upload", st.one_of(
        st.just(nodes.Null), st.text(max_size=20).map(nodes.String)))


# Real ids and valid pages -------------------------------------------------------------


class KnownIds:
    """Every global id seen so far, by type; never the fuzzer's own token or grants."""

    def __init__(self, schema: graphql.GraphQLSchema, protected: set[str]) -> None:
        self.protected = protected
        self.by_type: dict[str, list[str]] = {}
        self.type_names = {name.lower(): name for name, type_ in schema.type_map.items()
                           if isinstance(type_, graphql.GraphQLObjectType)
                           and not name.startswith("__")}

    def harvest(self, value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                self.harvest(item)
        elif isinstance(value, list):
            for item in value:
                self.harvest(item)
        elif isinstance(value, str) and value not in self.protected:
            decoded = from_global_id(value)
            if decoded is not None:
                ids = self.by_type.setdefault(decoded[0], [])
                if value not in ids:
                    ids.append(value)

    def type_for(self, argument: str, root_field: str) -> str | None:
        """The type an ID argument names: ``tenant`` or ``smbcs`` by its name, ``id``
        by the operation (``dialPlanRuleUpdate(input: {id})`` -> DialPlanRule)."""
        if argument in {"id", "ids"}:
            owners = [name for lowered, name in self.type_names.items()
                      if root_field.lower().startswith(lowered)]
            return max(owners, key=len) if owners else None
        singular = argument[:-1] if argument.endswith("s") else argument
        return self.type_names.get(argument.lower()) or self.type_names.get(singular.lower())

    def pick(self, type_name: str | None, chance: random.Random) -> str | None:
        ids = self.by_type.get(type_name or "") or [
            value for values in self.by_type.values() for value in values]
        return chance.choice(ids) if ids else None


class _Realistic(graphql.Visitor):
    """Real ids in most ID arguments and input fields; valid pages on every list."""

    def __init__(self, type_info: graphql.TypeInfo, known: KnownIds, root_field: str,
                 chance: random.Random) -> None:
        super().__init__()
        self.type_info, self.known, self.root_field, self.chance = (
            type_info, known, root_field, chance)

    def enter_field(self, node: graphql.FieldNode, *_: Any) -> graphql.FieldNode | None:
        names = {argument.name.value for argument in node.arguments or ()}
        if not names & {"first", "last", "after", "before"}:
            return None
        has_first = any(argument.name.value == "first" and not isinstance(
            argument.value, graphql.NullValueNode) for argument in node.arguments)
        arguments = []
        for argument in node.arguments:
            name, value = argument.name.value, argument.value
            if name in {"after", "before"} or (name == "last" and has_first):
                value = graphql.NullValueNode()
            elif name in {"first", "last"} and isinstance(value, graphql.IntValueNode):
                value = graphql.IntValueNode(value=str(int(value.value) % (MAX_PAGE_SIZE + 1)))
            arguments.append(graphql.ArgumentNode(name=argument.name, value=value))
        return graphql.FieldNode(alias=node.alias, name=node.name, arguments=tuple(arguments),
                                 directives=node.directives, selection_set=node.selection_set)

    def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> graphql.ArgumentNode | None:
        value = self._real_ids(node.name.value, node.value)
        return None if value is None else graphql.ArgumentNode(name=node.name, value=value)

    def enter_object_field(self, node: graphql.ObjectFieldNode, *_: Any
                           ) -> graphql.ObjectFieldNode | None:
        value = self._real_ids(node.name.value, node.value)
        return None if value is None else graphql.ObjectFieldNode(name=node.name, value=value)

    def _real_ids(self, name: str, value: graphql.ValueNode) -> graphql.ValueNode | None:
        named = graphql.get_named_type(self.type_info.get_input_type())
        if named is None or named.name != "ID" or self.chance.random() < 0.2:
            return None
        type_name = self.known.type_for(name, self.root_field)

        def real(node: graphql.ValueNode) -> graphql.ValueNode:
            picked = self.known.pick(type_name, self.chance)
            scalar = isinstance(node, graphql.StringValueNode | graphql.IntValueNode)
            if picked is None or not scalar:
                return node
            return graphql.StringValueNode(value=picked)

        if isinstance(value, graphql.ListValueNode):
            return graphql.ListValueNode(values=tuple(real(item) for item in value.values))
        return real(value)


def _hooks(schema: graphql.GraphQLSchema, known: KnownIds) -> HookDispatcher:
    """Four positive documents in five made realistic; the fifth as generated."""

    def realistic(context: HookContext, body: Any) -> st.SearchStrategy[Any]:
        if not isinstance(body, graphql.DocumentNode) or context.operation is None:
            return st.just(body)
        root_field = context.operation.definition.field_name

        def rewrite(draw: tuple[int, random.Random]) -> Any:
            keep, chance = draw
            if keep == 0:
                return body
            type_info = graphql.TypeInfo(schema)
            return graphql.visit(body, graphql.TypeInfoVisitor(
                type_info, _Realistic(type_info, known, root_field, chance)))

        return st.tuples(st.integers(0, 4), st.randoms(use_true_random=False)).map(rewrite)

    hooks = HookDispatcher(scope=HookScope.TEST)
    hooks.register_hook_with_name(realistic, "flatmap_body")
    return hooks


# The administrator and what it starts with -------------------------------------------


API_TOKEN_CREATE = """
mutation { apiTokenCreate(input: {name: "fuzzer"}) {
  apiToken { id } token errors { code message } } }
"""

ME = "{ me { id email grants { id role isp { id } } } }"


def _post(client: httpx.Client, query: str, variables: dict[str, Any] | None = None,
          headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}},
                           headers=headers or {})
    body = response.json()
    assert not body.get("errors"), (query, body)
    return body["data"]


def _payload(data: dict[str, Any]) -> dict[str, Any]:
    (payload,) = data.values()
    assert payload["errors"] == [], payload
    return payload


@dataclass
class Administrator:
    token: str
    token_id: str
    me: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def protected(self) -> set[str]:
        """Ids the fuzzer must not pass on: revoking these would lock it out."""
        return {self.token_id, *(grant["id"] for grant in self.me["grants"])}


def _sign_up(url: str, engine: Engine) -> Administrator:
    email = "owner@fuzzing.example"
    with httpx.Client(base_url=url, timeout=30) as browser:
        _payload(_post(browser, SIGN_UP, {"email": email}))
        # The link from the outbox: on Redis, delivery waits for a worker, which this
        # test does not need to wait for.
        _payload(_post(browser, SIGN_UP_COMPLETE, {"input": {
            "token": last_link(engine, email, "/signup/complete"), "password": PASSWORD,
            "fullName": "Fuzzing Owner",
            "isp": {"name": "Fuzzing", "namespaceLabel": "fuzzing", "currency": "USD"},
        }}))
    with httpx.Client(base_url=url, timeout=30) as browser:
        csrf = _payload(_post(browser, LOGIN, {"email": email, "password": PASSWORD}))
        created = _payload(_post(browser, API_TOKEN_CREATE,
                                 headers={"X-CSRF-Token": csrf["csrfToken"]}))
    administrator = Administrator(token=created["token"], token_id=created["apiToken"]["id"])
    administrator.me = _whoami(url, administrator)
    return administrator


def _whoami(url: str, administrator: Administrator) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=30, headers=administrator.headers) as script:
        me = _post(script, ME)["me"]
    assert [grant["role"] for grant in me["grants"]] == ["ADMIN"], me
    return me


SEED = [
    ("customer", """mutation { customerCreate(input: {name: "Seed Customer",
        maxSubscribers: 50, maxConcurrentCalls: 10}) { customer { id } errors { code message } } }
    """),
    ("carrier", """mutation { carrierCreate(input: {name: "Seed Carrier"}) {
        carrier { id } errors { code message } } }"""),
    ("dialPlan", """mutation { dialPlanCreate(input: {name: "Seed Plan"}) {
        dialPlan { id } errors { code message } } }"""),
    ("servicePlan", """mutation { servicePlanCreate(input: {name: "Seed Service",
        monthlyPricePerSubscriber: "4.50", monthlyPricePerDid: "1.00"}) {
        servicePlan { id } errors { code message } } }"""),
    ("number", """mutation { numberCreate(input: {e164: "+12025550143", price: "1.25"}) {
        number { id } errors { code message } } }"""),
    ("smbc", """mutation { smbcCreate(input: {name: "Seed SBC", address: "192.0.2.10:5060"}) {
        smbc { id } errors { code message } } }"""),
    ("tenant", """mutation($customer: ID!) { tenantCreate(input: {name: "Seed Tenant",
        domain: "seed", customer: $customer, defaultCountryCode: "1"}) {
        tenant { id } errors { code message } } }"""),
    ("subscriber", """mutation($tenant: ID!) { subscriberCreate(input: {tenant: $tenant,
        username: "alice", displayName: "Alice Seed", alias: "201"}) {
        subscriber { id } errors { code message } } }"""),
    ("securityGroup", """mutation($tenant: ID!) { securityGroupCreate(input: {tenant: $tenant,
        name: "Seed Group", countries: ["US"]}) { securityGroup { id } errors { code message } } }
    """),
]


def _seed(url: str, administrator: Administrator) -> dict[str, str]:
    """One object of each main kind, for the queries to walk and the mutations to change."""
    ids: dict[str, str] = {}
    with httpx.Client(base_url=url, timeout=30, headers=administrator.headers) as script:
        for name, mutation in SEED:
            variables = {key: value for key, value in ids.items() if f"${key}" in mutation}
            ids[name] = _payload(_post(script, mutation, variables))[name]["id"]
    return ids


# Judging the responses -----------------------------------------------------------------


@dataclass
class Finding:
    operation: str
    kind: str
    detail: str
    query: str
    status: int
    body: str
    request_id: str
    count: int = 1


@dataclass
class Run:
    service: FuzzService
    known: KnownIds
    sent: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)  # the resolver answered, no error
    accepted: Counter[str] = field(default_factory=Counter)  # a mutation with errors == []
    user_errors: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    hostile: int = 0  # requests carrying NUL, surrogate or control characters

    def found(self, key: tuple[str, str, str], finding: Finding) -> None:
        known = self.findings.get(key)
        if known is None:
            self.findings[key] = finding
            return
        known.count += 1
        if len(finding.query) < len(known.query):  # keep the smallest reproduction
            finding.count = known.count
            self.findings[key] = finding

    def report(self) -> str:
        lines = []
        for finding in self.findings.values():
            lines += [
                f"== {finding.operation}: {finding.kind} ({finding.count}x): {finding.detail}",
                f"query: {finding.query}",
                f"HTTP {finding.status}: {finding.body[:2000]}",
                "service log:", *self.service.records_for(finding.request_id), "",
            ]
        return "\n".join(lines)

    def summary(self, operations: set[str], elapsed: float) -> str:
        return "\n".join([
            f"fuzzed {len(operations)} operations with {sum(self.sent.values())} requests "
            f"({self.hostile} with NUL, surrogate or control characters) in "
            f"{elapsed:.1f} s; resolvers answered for {len(self.answered)} operations "
            f"({sum(self.answered.values())} answers)",
            f"mutations accepted at least once ({len(self.accepted)}): {sorted(self.accepted)}",
            f"user errors by code: {dict(self.user_errors.most_common())}",
            f"refusals by code: {dict(self.refusals.most_common())}",
            f"never answered: {sorted(operations - set(self.answered))}",
            f"known ids by type: { {name: len(ids) for name, ids in self.known.by_type.items()} }",
        ])

    def check(self, label: str, field_name: str, query: str, response: Response) -> None:
        self.sent[label] += 1
        self.hostile += is_hostile(query)

        def found(kind: str, detail: str, request_id: str = "") -> None:
            self.found((label, kind, detail), Finding(
                operation=label, kind=kind, detail=detail, query=query,
                status=response.status_code, body=response.text,
                request_id=request_id or (response.headers.get("x-request-id") or [""])[0]))

        if response.status_code >= 500:
            found("server error", f"HTTP {response.status_code}")
            return
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
            found("not a GraphQL response", f"HTTP {response.status_code}")
            return
        self.known.harvest(body.get("data"))
        errors = body.get("errors") or []
        for error in errors:
            if not isinstance(error, dict):
                found("not a GraphQL error", repr(error)[:100])
                continue
            extensions = error.get("extensions") or {}
            if error.get("message") == MASKED_MESSAGE or extensions.get("code") == MASKED_CODE:
                path = ".".join(str(part) for part in error.get("path") or []
                                if not isinstance(part, int))
                found("unexpected resolver exception", f"at {path or '(request)'}",
                      extensions.get("requestId", ""))
            elif extensions.get("code"):
                self.refusals[extensions["code"]] += 1
            elif error.get("path"):
                # A resolver's refusal must say which one it is.
                found("error without a code", error.get("message", ""))
            else:
                self.refusals["(syntax or validation)"] += 1
        data = body.get("data")
        failed = {str((error.get("path") or [""])[0]) for error in errors
                  if isinstance(error, dict)}
        if not isinstance(data, dict) or field_name not in data or field_name in failed:
            return
        self.answered[label] += 1
        answer = data[field_name]
        if label.startswith("Mutation.") and isinstance(answer, dict):
            user_errors = answer.get("errors")
            if user_errors == []:
                self.accepted[label] += 1
            for user_error in user_errors or []:
                self.user_errors[user_error.get("code") or "(code not selected)"] += 1


# Driving schemathesis ------------------------------------------------------------------


def _examples(operations: int) -> tuple[int, int]:
    """Positive and negative examples per operation: CASES in all, a fifth negative."""
    positive = (int(EXAMPLES) if EXAMPLES
                else math.ceil(CASES * SPARE / operations / 1.25))
    return positive, max(1, positive // 4)


def _fuzz(run: Run, schema: Any, administrator: Administrator) -> None:
    """Every operation, producers first and deletions last (schemathesis' layers)."""
    operations = [result.ok() for result in schema.get_all_operations()]
    positive, negative = _examples(len(operations))
    hooks = _hooks(schema.client_schema, run.known)
    http = requests.Session()
    for layer in schema.get_operation_layers(operations) or [operations]:
        for operation in layer:
            for mode, examples in ((GenerationMode.NEGATIVE, negative),
                                   (GenerationMode.POSITIVE, positive)):
                strategy = operation.as_strategy(
                    mode, hooks=hooks if mode is GenerationMode.POSITIVE else None)
                _send_examples(run, operation, strategy, examples, http, administrator)


def _send_examples(run: Run, operation: Any, strategy: st.SearchStrategy[Any], examples: int,
                   http: requests.Session, administrator: Administrator) -> None:
    field_name = operation.definition.field_name

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def send(case: Any) -> None:
        response = case.call(session=http, headers=administrator.headers, timeout=60)
        run.check(operation.label, field_name, case.body, response)

    send()


def test_fuzzing_finds_no_server_error_and_no_unexpected_exception(
        fuzz_service: FuzzService, engine: Engine):
    started = time.monotonic()
    administrator = _sign_up(fuzz_service.url, engine)
    seeded = _seed(fuzz_service.url, administrator)
    _register_scalars()
    schema = schemathesis.graphql.from_url(f"{fuzz_service.url}/graphql",
                                           headers=administrator.headers, timeout=30)
    known = KnownIds(schema.client_schema, administrator.protected)
    known.harvest([administrator.me, seeded])

    run = Run(service=fuzz_service, known=known)
    _fuzz(run, schema, administrator)

    operations = {result.ok().label for result in schema.get_all_operations()}
    print(f"\n{run.summary(operations, time.monotonic() - started)}\n{run.report()}")
    assert not run.findings, f"{len(run.findings)} distinct failures:\n{run.report()}"

    # Not vacuous: every operation was sent, as many cases as asked, hostile text among
    # them, and almost all operations answered.
    assert len(operations) >= MIN_OPERATIONS, sorted(operations)
    assert set(run.sent) == operations
    if not EXAMPLES:
        assert sum(run.sent.values()) >= CASES, run.summary(operations, 0)
    assert run.hostile >= sum(run.sent.values()) // 50, run.summary(operations, 0)
    assert len(run.answered) >= MIN_ANSWERED_SHARE * len(operations), run.summary(
        operations, 0)
    # The fuzzer did not lock itself out along the way.
    assert _whoami(fuzz_service.url, administrator)["grants"] == administrator.me["grants"], (
        json.dumps(administrator.me))
