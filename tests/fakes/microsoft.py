"""A wire-level fake of Microsoft Entra ID (login) and Microsoft Graph, on loopback.

The code under test keeps its production URLs (``https://login.microsoftonline.com``,
``https://graph.microsoft.com``) because msal refuses ``http://`` authorities. What
changes is the HTTP client: :meth:`FakeMicrosoft.client` (or :meth:`~FakeMicrosoft.transport`
inside your own ``httpx.Client``) sends the requests for those hosts, over plain HTTP, to
this server on ``127.0.0.1``. The ``Host`` header still names the real host. Nothing
here imports the adapter: the fake speaks the documented wire format and nothing else.

Start it::

    with FakeMicrosoft(client_id=CLIENT_ID, client_secret=SECRET) as fake:
        tenant = fake.add_tenant(domains=["contoso.com"])   # consented by default
        alice = tenant.add_user("alice@contoso.com", givenName="Alice")
        http = fake.client()                                # an httpx.Client on the seam
        ...

What it serves:

- Entra: ``GET /{tenant}/v2.0/.well-known/openid-configuration`` (400 AADSTS90002 for an
  unknown tenant), ``GET /common/discovery/instance``, and
  ``POST /{tenant}/oauth2/v2.0/token`` for the client-credentials grant, with Entra's
  error JSON (``error``, ``error_description`` starting ``AADSTSnnnn:``, ``error_codes``...):
  no consent (service principal missing) -> 401 ``invalid_client`` AADSTS7000229; other app
  -> 400 ``unauthorized_client`` AADSTS700016; wrong secret -> 401 AADSTS7000215; bad scope
  -> 400 ``invalid_scope`` AADSTS70011.
- Graph (``Authorization: Bearer`` checked; unknown/expired token or revoked consent -> 401
  ``InvalidAuthenticationToken``; permissions removed -> 403 ``Authorization_RequestDenied``):
  ``GET /v1.0/domains``; ``GET /v1.0/users/delta`` with ``$select``, opaque ``$skiptoken``
  pages (``@odata.nextLink``) and ``$deltatoken`` rounds (``@odata.deltaLink``) that
  remember a point in the tenant's change log, so the next round lists only the users
  changed since, soft deletes as ``{"@removed": {"reason": "changed"}}`` and permanent
  deletes as ``"deleted"``; expired delta tokens answer 410 ``resyncRequired`` with a
  ``Location`` header (or 400 ``syncStateNotFound``);
  ``GET /v1.0/groups/{id}/transitiveMembers[/microsoft.graph.user]`` (``$select``,
  ``$top``, ``$skiptoken``), 404 ``Request_ResourceNotFound`` for an unknown group.

HTTPS mode, for tests through code that builds its own HTTP client from settings (the
app, the workers): ``FakeMicrosoft(https=True)`` makes a throw-away CA and a certificate
for ``127.0.0.1`` (``cryptography``), serves TLS, writes the CA to :attr:`~FakeMicrosoft.ca_file`
and is its own login authority and Graph: ``login_url`` and ``graph_url`` are
``https://127.0.0.1:<port>`` (the Graph scope becomes ``https://127.0.0.1:<port>/.default``,
as a national cloud has its own). :meth:`~FakeMicrosoft.settings` gives the settings that
point the real adapter at it, the way national clouds and proxies are configured::

    with FakeMicrosoft(https=True) as fake:
        settings = make_settings(url, tmp_path, **fake.settings())

The admin consent page: ``GET /{organizations|common|tenant}/v2.0/adminconsent`` with
``client_id``, ``redirect_uri``, ``state`` (and ``scope``) answers as the administrator the
test chose: ``fake.consent_as(tenant)`` accepts (the tenant gets the service principal)
and redirects (302) to ``redirect_uri`` with ``admin_consent=True``, ``tenant`` and
``state``; ``fake.refuse_next_consent()`` redirects with ``error`` and
``error_description``. An unknown ``client_id`` (AADSTS700016) or a ``redirect_uri`` not
in ``fake.redirect_uris`` (when set; AADSTS50011) is an error page, as Entra shows it.

Errors on demand: ``fake.inject(429, retry_after=3)`` (or 503, 500...) answers the next
matching request(s) with that status; ``count`` and ``path`` (a path prefix) narrow it,
``after=n`` lets the first ``n`` matching requests through, ``count=None`` keeps failing
until ``fake.clear_faults()``. Every request lands in ``fake.requests`` (:class:`Recorded`,
with its ``time.monotonic()`` arrival in ``at``).

Pre-rendered mode, for benchmarks: fill a tenant (``tenant.populate(10_000)``) then
``tenant.prerender(page_size=500)``. The first delta round is rendered to bytes once;
each later request is a token lookup, a dict lookup and a write, so a benchmark measures
the client, not the fake. The last page's deltaLink answers an empty round. A
pre-rendered tenant no longer changes (mutations raise) until ``tenant.thaw()``; then
``tenant.prerender(since=<delta token>)`` renders the round of changes since that token
(served from that token on, ending with a new deltaLink), so a delta round is pre-rendered
too. In one go::

    with FakeMicrosoft.prerendered(users=10_000, page_size=500) as (fake, tenant):
        TeamsDirectory(settings, tenant.id, domains=[tenant.domain],
                       http_client=fake.client())

A fake in another process (so a benchmark does not count its memory) is reached with
``httpx.Client(transport=routing_transport(port))``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import ipaddress
import json
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote_plus, urlencode, urlsplit

import httpx

HOST = "127.0.0.1"
LOGIN_URL = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DEFAULT_PAGE_SIZE = 100  # Graph picks the page size of users/delta itself; $top is refused
MAX_TOP = 999
_USER_KEYS = (
    "mail", "userPrincipalName", "givenName", "surname", "displayName", "businessPhones",
    "mobilePhone", "department", "accountEnabled", "jobTitle", "officeLocation", "userType",
)


@dataclass(frozen=True)
class Recorded:
    """One request as the fake saw it (``host`` is the Host header: the real host name)."""

    method: str
    host: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    form: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic)


@dataclass
class _Fault:
    status: int
    count: int | None  # None: until cleared
    retry_after: str | None
    path: str
    after: int = 0  # matching requests still let through before this one fails


@dataclass
class _User:
    id: str
    props: dict[str, Any]
    state: str = "active"  # active | soft (deleted items, restorable) | hard (gone)
    seq: int = 0  # position of its last change in the tenant's change log
    order: int = 0  # creation order: the order of a first round


@dataclass(frozen=True)
class _Cursor:
    """What a $skiptoken stands for: one page of a round."""

    tenant: str
    kind: str  # "delta" or "members"
    entries: tuple[str, ...]
    offset: int
    select: tuple[str, ...]
    watermark: int = 0  # delta: the change-log position the round started at
    page_size: int = DEFAULT_PAGE_SIZE
    path: str = ""


@dataclass
class _DeltaMark:
    tenant: str
    since: int
    select: tuple[str, ...]
    expired: int | None = None  # status an expired token answers with (410 or 400)


class FakeTenant:
    """One Entra directory: domains, consent, users, groups and a change log."""

    def __init__(self, fake: FakeMicrosoft, tenant_id: str, label: str) -> None:
        self.fake = fake
        self.id = tenant_id
        self.initial_domain = f"{label}.onmicrosoft.com"
        # name -> verified; the initial domain is always there and verified
        self.domains: dict[str, bool] = {self.initial_domain: True}
        self.service_principal = True  # admin consent given (the app has a service principal)
        self.permissions = True  # the application permissions are still granted
        self.users: dict[str, _User] = {}
        self.groups: dict[str, set[str]] = {}
        self._seq = 0
        self._order = 0
        self._prerendered: dict[str, bytes] | None = None
        self._frozen = False  # pre-rendered and not thawed: mutations raise
        self._rounds = 0  # pre-rendered rounds so far (names their tokens)

    @property
    def domain(self) -> str:
        """The first custom domain (else the initial one): what tests usually link."""
        return next((name for name in self.domains if name != self.initial_domain),
                    self.initial_domain)

    # Consent and domains ------------------------------------------------------------------

    def grant_consent(self) -> None:
        with self.fake.lock:
            self.service_principal = True
            self.permissions = True

    def revoke_consent(self) -> None:
        """The admin removed the enterprise application: no token, issued tokens refused."""
        with self.fake.lock:
            self.service_principal = False
            self.fake.drop_tokens(self.id)

    def remove_permissions(self) -> None:
        """The application permissions were revoked: tokens still issued, Graph says 403."""
        with self.fake.lock:
            self.permissions = False

    def add_domain(self, name: str, *, verified: bool = True) -> None:
        with self.fake.lock:
            self.domains[name.lower()] = verified

    # Users ----------------------------------------------------------------------------------

    def _touch(self, user: _User) -> None:
        if self._frozen:
            raise RuntimeError("a pre-rendered tenant does not change (thaw() it first)")
        self._seq += 1
        user.seq = self._seq

    def add_user(self, user_principal_name: str, /, user_id: str | None = None,
                 **properties: Any) -> str:
        """A new member user; Graph property names as keywords (``givenName=...``)."""
        local = user_principal_name.split("@")[0]
        props: dict[str, Any] = {
            "userPrincipalName": user_principal_name,
            "mail": user_principal_name,
            "displayName": local.replace(".", " ").title(),
            "givenName": None,
            "surname": None,
            "businessPhones": [],
            "mobilePhone": None,
            "department": None,
            "accountEnabled": True,
            "jobTitle": None,
            "officeLocation": None,
            "userType": "Member",
        }
        self._check_keys(properties)
        props.update(properties)
        with self.fake.lock:
            user = _User(id=user_id or str(uuid.uuid4()), props=props)
            self._order += 1
            user.order = self._order
            self._touch(user)
            self.users[user.id] = user
        return user.id

    def populate(self, count: int, *, domain: str | None = None, prefix: str = "user") -> list[str]:
        """``count`` synthetic users in ``domain`` (default :attr:`domain`), for volume tests."""
        domain = domain or self.domain
        return [
            self.add_user(
                f"{prefix}{number}@{domain}", givenName=f"Given{number}",
                surname=f"Family{number}", department="Sales",
                businessPhones=[f"+1 425 555 {number % 10000:04d}"],
            )
            for number in range(count)
        ]

    def update_user(self, user_id: str, **properties: Any) -> None:
        """Change properties (None clears one); an ordinary change in the change log."""
        self._check_keys(properties)
        with self.fake.lock:
            user = self._live(user_id)
            user.props.update(properties)
            self._touch(user)

    def disable_user(self, user_id: str) -> None:
        self.update_user(user_id, accountEnabled=False)

    def enable_user(self, user_id: str) -> None:
        self.update_user(user_id, accountEnabled=True)

    def soft_delete_user(self, user_id: str) -> None:
        """Delete: the user goes to deleted items (restorable for 30 days)."""
        with self.fake.lock:
            user = self._live(user_id)
            user.state = "soft"
            self._touch(user)

    def restore_user(self, user_id: str) -> None:
        with self.fake.lock:
            user = self.users[user_id]
            if user.state != "soft":
                raise ValueError(f"user {user_id} is not in deleted items")
            user.state = "active"
            self._touch(user)

    def hard_delete_user(self, user_id: str) -> None:
        """Permanent deletion (from the directory or from deleted items)."""
        with self.fake.lock:
            user = self.users[user_id]
            if user.state == "hard":
                raise ValueError(f"user {user_id} is already gone")
            user.state = "hard"
            self._touch(user)

    def _live(self, user_id: str) -> _User:
        user = self.users[user_id]
        if user.state != "active":
            raise ValueError(f"user {user_id} is deleted")
        return user

    @staticmethod
    def _check_keys(properties: dict[str, Any]) -> None:
        unknown = set(properties) - set(_USER_KEYS)
        if unknown:
            raise TypeError(f"not user properties here: {sorted(unknown)}")

    # Groups ---------------------------------------------------------------------------------

    def add_group(self, members: Iterable[str] = ()) -> str:
        """A security group whose members are user or group ids (nesting is transitive)."""
        with self.fake.lock:
            group_id = str(uuid.uuid4())
            self.groups[group_id] = set(members)
            return group_id

    def add_member(self, group_id: str, member_id: str) -> None:
        with self.fake.lock:
            self.groups[group_id].add(member_id)

    def remove_member(self, group_id: str, member_id: str) -> None:
        with self.fake.lock:
            self.groups[group_id].discard(member_id)

    def transitive_members(self, group_id: str) -> tuple[list[str], list[str]]:
        """(user ids, group ids) reachable from the group; deleted users are no members."""
        users: list[str] = []
        groups: list[str] = []
        seen = {group_id}
        pending = [group_id]
        while pending:
            for member in sorted(self.groups[pending.pop()]):
                if member in self.groups:
                    if member not in seen:
                        seen.add(member)
                        groups.append(member)
                        pending.append(member)
                elif (member in self.users and self.users[member].state == "active"
                      and member not in users):
                    users.append(member)
        return users, groups

    # Delta tokens ---------------------------------------------------------------------------

    def expire_delta_tokens(self, *, status: int = 410) -> None:
        """Every delta token issued so far stops working: 410 resyncRequired (with Location),
        or 400 syncStateNotFound, as Graph answers a token past its lifetime."""
        if status not in (400, 410):
            raise ValueError("status must be 410 or 400")
        with self.fake.lock:
            for mark in self.fake.delta_marks.values():
                if mark.tenant == self.id:
                    mark.expired = status

    # Rendering ------------------------------------------------------------------------------

    def render_user(self, user: _User, select: tuple[str, ...]) -> dict[str, Any]:
        if user.state == "hard":
            return {"id": user.id, "@removed": {"reason": "deleted"}}
        if user.state == "soft":
            return {"id": user.id, "@removed": {"reason": "changed"}}
        keys = select or _USER_KEYS
        record: dict[str, Any] = {
            key: user.props[key] for key in keys if user.props.get(key) is not None
        }
        record["id"] = user.id
        return record

    def prerender(self, *, page_size: int | None = None, since: str | None = None) -> int:
        """Render a delta round to bytes now; serve it from memory from then on.

        Without ``since``: the first round (every active user, in creation order), served
        from the initial request; with ``since`` (a delta token this fake issued for the
        tenant): the round of the users changed since that token, served from that token.
        Its last page's deltaLink names a new token, which answers an empty round until a
        later ``prerender(since=...)`` renders the changes after it. Returns the number
        of pages. The tenant is frozen afterwards (:meth:`thaw` allows changes again)."""
        size = page_size or self.fake.page_size
        graph = self.fake.graph_url
        with self.fake.lock:
            if since is None:
                users = sorted((u for u in self.users.values() if u.state == "active"),
                               key=lambda u: u.order)
            else:
                mark = self.fake.delta_marks.get(since)
                if mark is None or mark.tenant != self.id:
                    raise ValueError(f"not a delta token of this tenant: {since!r}")
                users = sorted((u for u in self.users.values() if u.seq > mark.since),
                               key=lambda u: u.seq)
            chunks = [users[start:start + size] for start in range(0, len(users), size)] or [[]]
            self._rounds += 1
            prefix = f"pr-{self.id}-r{self._rounds}"
            final = f"{prefix}-end"
            pages: dict[str, bytes] = dict(self._prerendered or {})
            for number, chunk in enumerate(chunks):
                body: dict[str, Any] = {
                    "@odata.context": f"{graph}/v1.0/$metadata#users",
                    "value": [self.render_user(user, ()) for user in chunk],
                }
                if number + 1 < len(chunks):
                    body["@odata.nextLink"] = (
                        f"{graph}/v1.0/users/delta?$skiptoken={prefix}-{number + 1}")
                else:
                    body["@odata.deltaLink"] = f"{graph}/v1.0/users/delta?$deltatoken={final}"
                first = "" if since is None else since
                pages[first if number == 0 else f"{prefix}-{number}"] = _json_bytes(body)
            pages[final] = _json_bytes({
                "@odata.context": f"{graph}/v1.0/$metadata#users", "value": [],
                "@odata.deltaLink": f"{graph}/v1.0/users/delta?$deltatoken={final}",
            })
            # The point in the change log the new token stands for (for a later since=).
            self.fake.delta_marks[final] = _DeltaMark(self.id, self._seq, ())
            self._prerendered = pages
            self._frozen = True
        return len(chunks)

    def thaw(self) -> None:
        """Allow changes to a pre-rendered tenant again. What is served does not change
        until the next ``prerender(since=...)``."""
        with self.fake.lock:
            self._frozen = False


class FakeMicrosoft:
    """The fake Entra + Graph server; a context manager (``start()`` / ``stop()`` too).

    ``https``: serve TLS with a certificate of a CA made for this server (see the module
    docstring); ``login_url`` and ``graph_url`` then default to the server's own
    ``https://127.0.0.1:<port>``, and the CA lands in ``ca_dir`` (default: a temporary
    directory removed by :meth:`stop`)."""

    def __init__(
        self,
        *,
        client_id: str = "00001111-aaaa-2222-bbbb-3333cccc4444",
        client_secret: str = "fake-client-secret",
        login_url: str | None = None,
        graph_url: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        token_lifetime: int = 3599,
        https: bool = False,
        ca_dir: Path | None = None,
        redirect_uris: Iterable[str] = (),
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.https = https
        # In HTTPS mode, None means "this server", known once it listens.
        self._given_urls = (login_url, graph_url)
        self.login_url = (login_url or LOGIN_URL).rstrip("/")
        self.graph_url = (graph_url or GRAPH_URL).rstrip("/")
        self.page_size = page_size
        self.token_lifetime = token_lifetime
        self.redirect_uris: set[str] = set(redirect_uris)  # empty: any redirect_uri
        self.lock = threading.RLock()
        self.tenants: dict[str, FakeTenant] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # access token -> (tenant, expiry)
        self.cursors: dict[str, _Cursor] = {}
        self.delta_marks: dict[str, _DeltaMark] = {}
        self.requests: list[Recorded] = []
        self._faults: list[_Fault] = []
        # What the next visit of the admin consent page does: (tenant, error, description).
        self._consents: list[tuple[FakeTenant | None, str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ca_dir = ca_dir
        self._own_dir: str | None = None
        self.ca_file: Path | None = None  # HTTPS mode: the CA certificate (PEM), once started

    # Life cycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{'https' if self.https else 'http'}://{HOST}:{self.port}"

    def start(self) -> FakeMicrosoft:
        if self.https:
            server: ThreadingHTTPServer = _TlsServer((HOST, 0), _Handler)
            server.tls = self._tls_context()  # type: ignore[attr-defined]
            login, graph = self._given_urls
            origin = f"https://{HOST}:{server.server_address[1]}"
            self.login_url = (login or origin).rstrip("/")
            self.graph_url = (graph or origin).rstrip("/")
        else:
            server = ThreadingHTTPServer((HOST, 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                        name="fake-microsoft", daemon=True)
        self._thread.start()
        return self

    def _tls_context(self) -> ssl.SSLContext:
        if self._ca_dir is None:
            self._own_dir = tempfile.mkdtemp(prefix="fake-microsoft-")
        folder = self._ca_dir or Path(self._own_dir or "")
        folder.mkdir(parents=True, exist_ok=True)
        ca_pem, cert_pem, key_pem = _certificates(HOST)
        self.ca_file = folder / "fake-microsoft-ca.pem"
        self.ca_file.write_bytes(ca_pem)
        chain, key = folder / "fake-microsoft-server.pem", folder / "fake-microsoft-server.key"
        chain.write_bytes(cert_pem + ca_pem)
        key.touch(mode=0o600)
        key.write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(chain, key)
        return context

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    def __enter__(self) -> FakeMicrosoft:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    @classmethod
    @contextlib.contextmanager
    def prerendered(cls, *, users: int, page_size: int = 500, domain: str = "bench.example",
                    **options: Any) -> Iterator[tuple[FakeMicrosoft, FakeTenant]]:
        """A started fake with one consented tenant of ``users`` users, pre-rendered."""
        with cls(**options) as fake:
            tenant = fake.add_tenant(domains=[domain])
            tenant.populate(users, domain=domain)
            tenant.prerender(page_size=page_size)
            yield fake, tenant

    # The seam -------------------------------------------------------------------------------

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport that sends the login and Graph hosts here over plain HTTP
        (HTTPS mode: a plain transport trusting :attr:`ca_file`)."""
        if self.https:
            return httpx.HTTPTransport(verify=self.ssl_context())
        return routing_transport(self.port, login_url=self.login_url, graph_url=self.graph_url)

    def client(self, **options: Any) -> httpx.Client:
        """An ``httpx.Client`` on :meth:`transport` (options go to ``httpx.Client``)."""
        return httpx.Client(transport=self.transport(), **options)

    def ssl_context(self) -> ssl.SSLContext:
        """HTTPS mode: a client context trusting only this server's CA."""
        if self.ca_file is None:
            raise RuntimeError("only a started HTTPS fake has a CA")
        return ssl.create_default_context(cafile=str(self.ca_file))

    def settings(self) -> dict[str, Any]:
        """HTTPS mode: the settings that point the platform at this server (its Entra app
        credentials, login authority, Graph URL and CA bundle)."""
        if self.ca_file is None:
            raise RuntimeError("settings() is for a started HTTPS fake (https=True)")
        return {
            "microsoft_client_id": self.client_id,
            "microsoft_client_secret": self.client_secret,
            "microsoft_authority_host": self.login_url,
            "microsoft_graph_url": self.graph_url,
            "microsoft_ca_bundle": self.ca_file,
        }

    @property
    def graph_scope(self) -> str:
        """The app-only scope of this fake's Graph (Graph's own with the default URLs)."""
        return f"{self.graph_url}/.default"

    # The admin consent page -------------------------------------------------------------------

    def consent_as(self, tenant: FakeTenant) -> None:
        """The next visit of the admin consent page is an administrator of ``tenant`` who
        accepts: the tenant gets the service principal and the browser goes back with it."""
        with self.lock:
            self._consents.append((tenant, "", ""))

    def refuse_next_consent(self, error: str = "access_denied",
                            description: str = "AADSTS65004: User declined to consent to "
                            "access the app.") -> None:
        """The next visit of the admin consent page ends in ``error`` (declined, cancelled)."""
        with self.lock:
            self._consents.append((None, error, description))

    def take_consent(self) -> tuple[FakeTenant | None, str, str] | None:
        with self.lock:
            return self._consents.pop(0) if self._consents else None

    # Tenants, tokens, faults, log ------------------------------------------------------------

    def add_tenant(self, tenant_id: str | None = None, *, domains: Iterable[str] = (),
                   unverified: Iterable[str] = (), consented: bool = True) -> FakeTenant:
        with self.lock:
            tenant_id = tenant_id or str(uuid.uuid4())
            tenant = FakeTenant(self, tenant_id, f"tenant{len(self.tenants) + 1}")
            for name in domains:
                tenant.add_domain(name)
            for name in unverified:
                tenant.add_domain(name, verified=False)
            tenant.service_principal = consented
            tenant.permissions = consented
            self.tenants[tenant_id] = tenant
            return tenant

    def drop_tokens(self, tenant_id: str | None = None) -> None:
        """Forget issued access tokens (of one tenant, or all): Graph answers 401 to them."""
        with self.lock:
            for token, (owner, _expiry) in list(self.tokens.items()):
                if tenant_id is None or owner == tenant_id:
                    del self.tokens[token]

    def inject(self, status: int, *, count: int | None = 1,
               retry_after: float | str | None = None, path: str = "/v1.0/",
               after: int = 0) -> None:
        """Answer the next ``count`` requests whose path starts with ``path`` with ``status``,
        once ``after`` of them went through; ``count=None``: every one until
        :meth:`clear_faults`."""
        with self.lock:
            self._faults.append(_Fault(status, count,
                                       None if retry_after is None else str(retry_after), path,
                                       after))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def take_fault(self, path: str) -> _Fault | None:
        with self.lock:
            for fault in self._faults:
                if not path.startswith(fault.path):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def record(self, entry: Recorded) -> None:
        with self.lock:
            self.requests.append(entry)

    def token_requests(self, tenant_id: str | None = None) -> list[Recorded]:
        return [r for r in list(self.requests) if r.path.endswith("/oauth2/v2.0/token")
                and (tenant_id is None or r.path.split("/")[1] == tenant_id)]

    def graph_requests(self, prefix: str = "/v1.0/") -> list[Recorded]:
        return [r for r in list(self.requests) if r.path.startswith(prefix)]

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()


# Transport seam -----------------------------------------------------------------------------


def routing_transport(port: int, *, login_url: str = LOGIN_URL,
                      graph_url: str = GRAPH_URL) -> httpx.BaseTransport:
    """The plain-HTTP seam to a fake listening on ``127.0.0.1:port`` (perhaps in another
    process): requests for the login and Graph hosts go there, others go out as they are."""
    hosts = {urlsplit(login_url).hostname or "", urlsplit(graph_url).hostname or ""}
    return _RoutingTransport(hosts, port)


class _RoutingTransport(httpx.BaseTransport):
    """Rewrites https://<routed host>/... to http://127.0.0.1:<port>/... (Host header kept)."""

    def __init__(self, hosts: set[str], port: int) -> None:
        self._hosts = hosts
        self._port = port
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self._hosts:
            request.url = request.url.copy_with(scheme="http", host=HOST, port=self._port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


# The server ---------------------------------------------------------------------------------


def _certificates(host: str) -> tuple[bytes, bytes, bytes]:
    """A throw-away CA, and a server certificate for ``host`` (an IP address) that it
    signed, with the extensions strict verifiers ask for: (CA PEM, certificate PEM, key PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    valid = {"not_valid_before": now - timedelta(minutes=5),
             "not_valid_after": now + timedelta(days=2)}
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FakeMicrosoft test CA")])
    usage = dict.fromkeys(("content_commitment", "key_encipherment", "data_encipherment",
                           "key_agreement", "encipher_only", "decipher_only"), False)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(valid["not_valid_before"]).not_valid_after(valid["not_valid_after"])
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, **usage), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid["not_valid_before"]).not_valid_after(valid["not_valid_after"])
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False,
                                     crl_sign=False, **usage), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem), certificate.public_bytes(pem),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


class _TlsServer(ThreadingHTTPServer):
    """The threaded server, each connection's TLS handshake done in its own thread (a
    client that never finishes one holds up no one else)."""

    tls: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            connection = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that did not trust us, or went away
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _graph_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())}}}


def _entra_error(error: str, number: int, text: str) -> dict[str, Any]:
    trace, correlation, stamp = str(uuid.uuid4()), str(uuid.uuid4()), _now()
    return {
        "error": error,
        "error_description": f"AADSTS{number}: {text} Trace ID: {trace} "
                             f"Correlation ID: {correlation} Timestamp: {stamp}",
        "error_codes": [number],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"{LOGIN_URL}/error?code={number}",
    }


_FAULT_CODES = {429: "TooManyRequests", 500: "generalException", 502: "badGateway",
                503: "serviceNotAvailable", 504: "gatewayTimeout"}


class _Reply(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body if isinstance(body, bytes) else _json_bytes(body)
        self.headers = headers or {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeMicrosoft/1.0"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is :attr:`FakeMicrosoft.requests`."""

    @property
    def fake(self) -> FakeMicrosoft:
        return self.server.fake  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in
                 parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        form = {key: values[-1] for key, values in
                parse_qs(raw.decode(), keep_blank_values=True).items()} if raw else {}
        try:
            fault = self.fake.take_fault(parts.path)
            if fault is not None:
                self._fault(fault, parts.path)
            if method == "POST" and parts.path.endswith("/oauth2/v2.0/token"):
                self._token(parts.path.split("/")[1], form)
            elif method == "GET" and parts.path.endswith("/v2.0/.well-known/openid-configuration"):
                self._openid_configuration(parts.path.split("/")[1])
            elif method == "GET" and parts.path == "/common/discovery/instance":
                self._instance_discovery(query)
            elif method == "GET" and parts.path.endswith("/v2.0/adminconsent") \
                    and parts.path.count("/") == 3:
                self._admin_consent(parts.path.split("/")[1], query)
            elif method == "GET" and parts.path.startswith("/v1.0/"):
                self._graph(parts.path, query)
            raise _Reply(404, _graph_error("NotFound", f"No route for {method} {parts.path}"))
        except _Reply as reply:
            # Logged before the answer leaves, so a test reading the log after its call
            # returned always finds the request there.
            self.fake.record(Recorded(
                method=method, host=self.headers.get("Host", ""), path=parts.path, query=query,
                headers={k.lower(): v for k, v in self.headers.items()},
                status=reply.status, form=form,
            ))
            self._send(reply)

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _fault(self, fault: _Fault, path: str) -> None:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if path.startswith("/v1.0/"):
            body = _graph_error(_FAULT_CODES.get(fault.status, "generalException"),
                                f"Injected {fault.status}.")
        else:
            body = _entra_error("temporarily_unavailable", 50196 if fault.status == 429 else 90033,
                                "The service is temporarily unavailable.")
        raise _Reply(fault.status, body, headers)

    # Entra ----------------------------------------------------------------------------------

    def _tenant_or_none(self, name: str) -> FakeTenant | None:
        fake = self.fake
        if name in fake.tenants:
            return fake.tenants[name]
        return next((t for t in fake.tenants.values() if name.lower() in t.domains), None)

    def _openid_configuration(self, name: str) -> None:
        tenant = self._tenant_or_none(name)
        if tenant is None:
            raise _Reply(400, _entra_error(
                "invalid_tenant", 90002,
                f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud."))
        base = f"{self.fake.login_url}/{tenant.id}"
        raise _Reply(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{self.fake.login_url}/{tenant.id}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": urlsplit(self.fake.graph_url).hostname,
        })

    def _instance_discovery(self, query: dict[str, str]) -> None:
        login = urlsplit(self.fake.login_url).hostname
        endpoint = urlsplit(query.get("authorization_endpoint", "/common/oauth2/authorize"))
        tenant = endpoint.path.split("/")[1] if endpoint.path.count("/") > 1 else "common"
        raise _Reply(200, {
            "tenant_discovery_endpoint":
                f"{self.fake.login_url}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": login, "preferred_cache": login,
                          "aliases": [login]}],
        })

    def _admin_consent(self, name: str, query: dict[str, str]) -> None:
        """The admin consent page, as the administrator the test chose answers it."""
        fake = self.fake
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        if client_id != fake.client_id:
            raise _Reply(400, _entra_error(
                "unauthorized_client", 700016,
                f"Application with identifier '{client_id}' was not found in the directory."))
        if not redirect_uri or (fake.redirect_uris and redirect_uri not in fake.redirect_uris):
            raise _Reply(400, _entra_error(
                "invalid_request", 50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match "
                f"the redirect URIs configured for the application '{client_id}'."))
        answer = fake.take_consent()
        if answer is None:
            raise _Reply(409, _graph_error("NoAnswer", "The test chose no administrator "
                                           "(consent_as / refuse_next_consent)."))
        tenant, error, description = answer
        if name not in ("organizations", "common") and (tenant is None or name != tenant.id):
            tenant = None
            error, description = "invalid_request", (
                f"AADSTS50020: the signed-in administrator is not from tenant '{name}'.")
        outcome: dict[str, str] = {"admin_consent": "True"}
        if tenant is not None and not error:
            tenant.grant_consent()
            outcome["tenant"] = tenant.id
            outcome["scope"] = query.get("scope", fake.graph_scope)
        else:
            outcome["error"] = error
            outcome["error_description"] = description
        outcome["state"] = query.get("state", "")
        joiner = "&" if urlsplit(redirect_uri).query else "?"
        raise _Reply(302, b"", {"Location": f"{redirect_uri}{joiner}{urlencode(outcome)}"})

    def _token(self, name: str, form: dict[str, str]) -> None:
        fake = self.fake
        client_id = form.get("client_id", "")
        secret = form.get("client_secret", "")
        basic = self.headers.get("Authorization", "")
        if basic.startswith("Basic "):  # client_secret_basic: url-encoded id:secret
            pair = base64.b64decode(basic[len("Basic "):]).decode()
            client_id, _, secret = (unquote_plus(part) for part in pair.partition(":"))
        tenant = self._tenant_or_none(name)
        if tenant is None:
            raise _Reply(400, _entra_error(
                "invalid_request", 90002,
                f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud."))
        if form.get("grant_type") != "client_credentials":
            raise _Reply(400, _entra_error(
                "unsupported_grant_type", 70003,
                "The app requested an unsupported grant type."))
        if client_id != fake.client_id:
            raise _Reply(400, _entra_error(
                "unauthorized_client", 700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant.id}'."))
        if secret != fake.client_secret:
            raise _Reply(401, _entra_error(
                "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                "is the client secret value, not the client secret ID."))
        if form.get("scope") != fake.graph_scope:
            raise _Reply(400, _entra_error(
                "invalid_scope", 70011,
                f"The provided request must include a 'scope' input parameter. The provided "
                f"value for the input parameter 'scope' is not valid ({form.get('scope')})."))
        if not tenant.service_principal:
            raise _Reply(401, _entra_error(
                "invalid_client", 7000229,
                f"The client application {client_id} is missing service principal in the "
                f"tenant {tenant.id}."))
        token = f"fake.{secrets.token_urlsafe(24)}"
        with fake.lock:
            fake.tokens[token] = (tenant.id, time.monotonic() + fake.token_lifetime)
        raise _Reply(200, {"token_type": "Bearer", "expires_in": fake.token_lifetime,
                           "ext_expires_in": fake.token_lifetime, "access_token": token})

    # Graph ----------------------------------------------------------------------------------

    def _graph(self, path: str, query: dict[str, str]) -> None:
        tenant = self._authenticate()
        if tenant._prerendered is not None and path.startswith("/v1.0/users/"):
            self._prerendered(tenant, query)
        with self.fake.lock:
            if path == "/v1.0/domains":
                self._domains(tenant)
            if path in ("/v1.0/users/delta", "/v1.0/users/microsoft.graph.delta"):
                self._delta(tenant, path, query)
            segments = path.split("/")
            if (len(segments) in (5, 6) and segments[2] == "groups"
                    and segments[4] == "transitiveMembers"):
                cast = segments[5] if len(segments) == 6 else None
                if cast in (None, "microsoft.graph.user"):
                    self._members(tenant, path, segments[3], cast is not None, query)
        raise _Reply(400, _graph_error("Request_BadRequest", f"Unsupported request {path}."))

    def _authenticate(self) -> FakeTenant:
        fake = self.fake
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise _Reply(401, _graph_error("InvalidAuthenticationToken",
                                           "Access token is empty."))
        found = fake.tokens.get(header[len("Bearer "):])
        if found is None:
            raise _Reply(401, _graph_error("InvalidAuthenticationToken",
                                           "Access token validation failure. Invalid audience."))
        tenant_id, expiry = found
        if expiry < time.monotonic():
            raise _Reply(401, _graph_error("InvalidAuthenticationToken",
                                           "Lifetime validation failed, the token is expired."))
        tenant = fake.tenants[tenant_id]
        if not tenant.permissions:
            raise _Reply(403, _graph_error("Authorization_RequestDenied",
                                           "Insufficient privileges to complete the operation."))
        return tenant

    def _domains(self, tenant: FakeTenant) -> None:
        graph = self.fake.graph_url
        raise _Reply(200, {
            "@odata.context": f"{graph}/v1.0/$metadata#domains",
            "value": [
                {"authenticationType": "Managed", "availabilityStatus": None, "id": name,
                 "isAdminManaged": True, "isDefault": name == tenant.domain,
                 "isInitial": name == tenant.initial_domain, "isRoot": True,
                 "isVerified": verified, "supportedServices": ["Email"] if verified else [],
                 "passwordValidityPeriodInDays": 2147483647,
                 "passwordNotificationWindowInDays": 14}
                for name, verified in tenant.domains.items()
            ],
        })

    def _prerendered(self, tenant: FakeTenant, query: dict[str, str]) -> None:
        pages = tenant._prerendered
        assert pages is not None
        key = query.get("$skiptoken") or query.get("$deltatoken") or ""
        body = pages.get(key)
        if body is None:
            raise _Reply(400, _graph_error("Request_BadRequest", "The token is invalid."))
        raise _Reply(200, body)

    def _delta(self, tenant: FakeTenant, path: str, query: dict[str, str]) -> None:
        fake = self.fake
        if "$top" in query:
            raise _Reply(400, _graph_error("Request_UnsupportedQuery",
                                           "The $top query option is not supported with delta."))
        if "$skiptoken" in query:
            cursor = fake.cursors.get(query["$skiptoken"])
            if cursor is None or cursor.tenant != tenant.id or cursor.kind != "delta":
                raise _Reply(400, _graph_error("Request_BadRequest",
                                               "The specified skip token is invalid."))
            self._delta_page(tenant, cursor)
        token = query.get("$deltatoken")
        if token and token != "latest":
            mark = fake.delta_marks.get(token)
            if mark is None or mark.tenant != tenant.id:
                raise _Reply(400, _graph_error("Request_BadRequest",
                                               "The specified delta token is invalid."))
            if mark.expired == 410:
                raise _Reply(410, _graph_error(
                    "resyncRequired",
                    "The delta token is no longer valid, and the app must reset the sync state."),
                    {"Location": f"{fake.graph_url}/v1.0/users/delta?$deltatoken="})
            if mark.expired == 400:
                raise _Reply(400, _graph_error(
                    "syncStateNotFound",
                    "The sync state generation is not found. The delta token is expired and "
                    "data must be synchronized again."))
            changed = sorted((u for u in tenant.users.values() if u.seq > mark.since),
                             key=lambda u: u.seq)
            select = mark.select
        elif token == "latest":  # "sync from now": no data, a deltaLink from this point
            changed, select = [], ()
        else:  # a first round (also the reset URL with an empty $deltatoken)
            select = tuple(s.strip() for s in query.get("$select", "").split(",") if s.strip())
            unknown = set(select) - {"id", *_USER_KEYS}
            if unknown:
                raise _Reply(400, _graph_error(
                    "Request_BadRequest",
                    f"Could not find a property named '{sorted(unknown)[0]}' on type "
                    "'microsoft.graph.user'."))
            changed = sorted((u for u in tenant.users.values() if u.state == "active"),
                             key=lambda u: u.order)
        self._delta_page(tenant, _Cursor(
            tenant=tenant.id, kind="delta", entries=tuple(u.id for u in changed), offset=0,
            select=select, watermark=tenant._seq, page_size=fake.page_size, path=path))

    def _delta_page(self, tenant: FakeTenant, cursor: _Cursor) -> None:
        fake = self.fake
        graph = fake.graph_url
        end = cursor.offset + cursor.page_size
        users = [tenant.render_user(tenant.users[uid], cursor.select)
                 for uid in cursor.entries[cursor.offset:end]]
        context = f"{graph}/v1.0/$metadata#users"
        if cursor.select:
            context += f"({','.join(cursor.select)})"
        body: dict[str, Any] = {"@odata.context": context, "value": users}
        if end < len(cursor.entries):
            token = secrets.token_urlsafe(32)
            fake.cursors[token] = dataclasses.replace(cursor, offset=end)
            body["@odata.nextLink"] = f"{graph}{cursor.path}?$skiptoken={token}"
        else:
            token = secrets.token_urlsafe(32)
            fake.delta_marks[token] = _DeltaMark(tenant.id, cursor.watermark, cursor.select)
            body["@odata.deltaLink"] = f"{graph}{cursor.path}?$deltatoken={token}"
        raise _Reply(200, body)

    def _members(self, tenant: FakeTenant, path: str, group_id: str, users_only: bool,
                 query: dict[str, str]) -> None:
        fake = self.fake
        graph = fake.graph_url
        if "$skiptoken" in query:
            cursor = fake.cursors.get(query["$skiptoken"])
            if cursor is None or cursor.tenant != tenant.id or cursor.kind != "members":
                raise _Reply(400, _graph_error("Request_BadRequest",
                                               "The specified skip token is invalid."))
        else:
            if group_id not in tenant.groups:
                raise _Reply(404, _graph_error(
                    "Request_ResourceNotFound",
                    f"Resource '{group_id}' does not exist or one of its queried "
                    "reference-property objects are not present."))
            try:
                top = int(query.get("$top", "100"))
            except ValueError:
                top = 0
            if not 1 <= top <= MAX_TOP:
                raise _Reply(400, _graph_error(
                    "Request_UnsupportedQuery", f"Invalid page size specified: '{top}'."))
            select = tuple(s.strip() for s in query.get("$select", "").split(",") if s.strip())
            user_ids, group_ids = tenant.transitive_members(group_id)
            entries = [f"u:{uid}" for uid in user_ids]
            if not users_only:
                entries += [f"g:{gid}" for gid in group_ids]
            cursor = _Cursor(tenant=tenant.id, kind="members", entries=tuple(entries),
                             offset=0, select=select, page_size=top, path=path)
        end = cursor.offset + cursor.page_size
        value = []
        for entry in cursor.entries[cursor.offset:end]:
            kind, object_id = entry.split(":", 1)
            if kind == "u":
                record = tenant.render_user(tenant.users[object_id], cursor.select)
                value.append({"@odata.type": "#microsoft.graph.user", **record})
            else:
                value.append({"@odata.type": "#microsoft.graph.group", "id": object_id})
        body: dict[str, Any] = {
            "@odata.context": f"{graph}/v1.0/$metadata#directoryObjects"
                              + ("/microsoft.graph.user" if users_only else ""),
            "value": value,
        }
        if end < len(cursor.entries):
            token = secrets.token_urlsafe(32)
            fake.cursors[token] = dataclasses.replace(cursor, offset=end)
            select = f"$select={quote(','.join(cursor.select), safe=',')}&" if cursor.select else ""
            body["@odata.nextLink"] = (
                f"{graph}{cursor.path}?{select}$top={cursor.page_size}&$skiptoken={token}")
        raise _Reply(200, body)
