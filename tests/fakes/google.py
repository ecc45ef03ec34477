"""A wire-level fake of Google's OAuth 2.0 endpoints and the Admin SDK Directory API.

A threaded HTTP server on 127.0.0.1 that follows Google's documented wire format (the
OAuth 2.0 web-server flow with PKCE, OpenID Connect id_tokens, the jwt-bearer grant of
service accounts, ``users.list``, ``members.list``, ``users.watch``, ``channels.stop``,
Google's JSON error bodies). The code under test points its settings at it
(:meth:`FakeGoogle.settings_values`); the real client libraries talk to it over HTTP.
Nothing here imports the adapter.

Start it::

    with FakeGoogle(domain="example.com") as fake:
        settings = Settings(_env_file=None, **fake.settings_values())
        alice = fake.add_user("alice@example.com", given_name="Alice", phones=[
            {"value": "+41 44 000 00 00", "type": "work", "primary": True}])
        token = fake.issue_refresh_token()            # as if admin@example.com consented
        ...
        fake.suspend_user(alice.id)                   # users change between rounds

Consent over the wire: ``GET fake.auth_uri?...`` (the URL our consent code builds)
answers 302 to the redirect URI with ``code`` and ``state``, as the administrator set
with :meth:`FakeGoogle.consent_as` (default ``admin@<domain>``, ``hd=<domain>``) would
get; ``POST /token`` redeems it (PKCE checked) for an access token, a refresh token and
an id_token signed with a locally generated RSA key published as a JWK set at
``fake.certs_uri``. Knobs: ``id_token_claims`` (override or, with None, drop claims),
``forge_id_tokens`` (sign with a key that is not published), ``issue_refresh_tokens``.
:meth:`FakeGoogle.revoke` (or ``POST /revoke``) revokes a refresh token and its access
tokens. :meth:`FakeGoogle.add_service_account` returns a key file (a real RSA key) whose
jwt-bearer assertions are verified; the decoded assertions land in ``fake.assertions``.

Directory: users (:meth:`add_user`, :meth:`add_users`, :meth:`update_user`,
:meth:`suspend_user`, :meth:`archive_user`, :meth:`delete_user`, :meth:`undelete_user`),
groups (:meth:`add_group`, :meth:`add_member`). ``users.list`` pages with opaque page
tokens (keyset, so stable while users change), honours ``domain``/``customer``,
``maxResults`` (1-500), ``query`` (``orgUnitPath``, ``isSuspended``, ``isArchived``,
``isAdmin``, ``email``, ``givenName``, ``familyName``), ``showDeleted``, ``orderBy``,
``fields`` partial responses. Access needs a Bearer token (else 401 ``authError``), of an
administrator (``fake.admins``, else 403 ``forbidden``), with the right scope (else 403
``insufficientPermissions``). ``users.watch`` opens channels; every user change is then
recorded as a notification in ``fake.notifications`` (with the X-Goog-* headers Google
sends) and, with ``deliver_notifications = True``, POSTed to the channel's address.

Errors on demand, a queue per route ("users.list", "members.list", "users.watch",
"channels.stop", "token", "certs", "auth")::

    fake.inject("users.list", too_many_requests(retry_after="7"))
    fake.inject("users.list", rate_limit_exceeded("quotaExceeded"), times=3)
    fake.inject("users.list", backend_error(500))

Every request lands in ``fake.requests`` (:class:`RecordedRequest`); ``fake.calls(route)``
filters them.

Where Google's reference is silent the fake picks an answer and says so: a ``users.list``
page token it does not know (or one from another query) is 400 ``invalid``; a
``users.watch`` without ``event`` watches every event; ``members.list`` pages by offset.

Pre-rendered mode, for benchmarks (a fake that filters fields per request can cost more
than the client): ``FakeGoogle.prerendered(users=50_000, page_size=500)`` renders all
pages of generated users to bytes when built; ``users.list`` is then a token check and a
dict lookup on ``pageToken`` (other parameters are ignored, the pages carry the fields
a sync asks for). Everything else (tokens, consent) works as usual::

    with FakeGoogle.prerendered(users=50_000) as fake:
        refresh_token = fake.issue_refresh_token()
        # GoogleDirectory(settings, oauth_credentials(settings, refresh_token), domain=...)
"""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
ID_TOKEN_ISSUER = "https://accounts.google.com"
_AUTH = "https://www.googleapis.com/auth/"
USER_READONLY = _AUTH + "admin.directory.user.readonly"
GROUP_READONLY = _AUTH + "admin.directory.group.readonly"
USERINFO_EMAIL = _AUTH + "userinfo.email"
USERINFO_PROFILE = _AUTH + "userinfo.profile"
# Scopes each method accepts (the Directory API discovery document's "scopes").
USER_SCOPES = frozenset({USER_READONLY, _AUTH + "admin.directory.user",
                         _AUTH + "admin.directory.user.alias",
                         _AUTH + "admin.directory.user.alias.readonly",
                         _AUTH + "cloud-platform"})
MEMBER_SCOPES = frozenset({GROUP_READONLY, _AUTH + "admin.directory.group",
                           _AUTH + "admin.directory.group.member",
                           _AUTH + "admin.directory.group.member.readonly"})
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
WATCH_EVENTS = ("add", "delete", "makeAdmin", "undelete", "update")
DEFAULT_CHANNEL_TTL = 2 * 3600  # Channel.params.ttl: default 2 hours, at most 2 days
MAX_CHANNEL_TTL = 2 * 24 * 3600
ACCESS_TOKEN_SECONDS = 3599
PRERENDER_FIELDS = (
    "nextPageToken,users(id,primaryEmail,name(givenName,familyName,fullName),"
    "phones(value,type,primary),orgUnitPath,suspended,archived)"
)


# Wire pieces -------------------------------------------------------------------------------


@dataclass
class FakeResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, body: object, headers: Mapping[str, str] | None = None
                  ) -> FakeResponse:
    """A JSON answer with the content type Google's APIs send."""
    return FakeResponse(status, json.dumps(body).encode(),
                        {"Content-Type": "application/json; charset=UTF-8", **(headers or {})})


_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED",
                 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def google_error(status: int, reason: str, message: str, *, domain: str = "global",
                 retry_after: str | None = None,
                 headers: Mapping[str, str] | None = None) -> FakeResponse:
    """Google's JSON error body: {"error": {"code", "message", "errors": [{"reason"...}],
    "status"}}."""
    body = {"error": {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
        "status": _STATUS_NAMES.get(status, "UNKNOWN"),
    }}
    extra = dict(headers or {})
    if retry_after is not None:
        extra["Retry-After"] = retry_after
    return json_response(status, body, extra)


def too_many_requests(retry_after: str | None = None) -> FakeResponse:
    """429 as Google's front end sends it when a per-minute quota is used up."""
    return google_error(
        429, "rateLimitExceeded",
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' "
        "of service 'admin.googleapis.com'.",
        domain="usageLimits", retry_after=retry_after)


def rate_limit_exceeded(reason: str = "userRateLimitExceeded") -> FakeResponse:
    """403 with one of the Directory API's quota reasons (userRateLimitExceeded,
    quotaExceeded, rateLimitExceeded)."""
    messages = {
        "userRateLimitExceeded": "User Rate Limit Exceeded",
        "quotaExceeded": "Quota exceeded for quota group 'default' and limit "
                         "'Queries per user per 100 seconds'.",
        "rateLimitExceeded": "Rate Limit Exceeded",
    }
    return google_error(403, reason, messages.get(reason, reason), domain="usageLimits")


def backend_error(status: int = 500, retry_after: str | None = None) -> FakeResponse:
    """5xx ``backendError``: 500 "Backend Error", 502/503 "currently unavailable"."""
    message = "Backend Error" if status == 500 else "The service is currently unavailable."
    return google_error(status, "backendError", message, retry_after=retry_after)


def invalid_credentials() -> FakeResponse:
    """401 as the API answers an unknown or expired access token."""
    return google_error(
        401, "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                                     'error="invalid_token"'})


def forbidden() -> FakeResponse:
    """403 as the API answers a caller who is not an administrator of the domain."""
    return google_error(403, "forbidden", "Not Authorized to access this resource/api")


def insufficient_scopes() -> FakeResponse:
    """403 as the API answers a token without any of the method's scopes."""
    return google_error(403, "insufficientPermissions",
                        "Request had insufficient authentication scopes.")


def oauth_error(status: int, error: str, description: str) -> FakeResponse:
    """The token endpoint's error body: {"error": ..., "error_description": ...}."""
    return json_response(status, {"error": error, "error_description": description})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


class SigningKey:
    """A locally generated RSA key that signs JWTs (RS256) and is published as a JWK."""

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or secrets.token_hex(20)
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def sign(self, claims: Mapping[str, Any], *, kid: str | None = None) -> str:
        header = {"alg": "RS256", "kid": kid or self.kid, "typ": "JWT"}
        signing_input = (f"{b64url(json.dumps(header).encode())}."
                         f"{b64url(json.dumps(dict(claims)).encode())}")
        signature = self.private_key.sign(signing_input.encode(), padding.PKCS1v15(),
                                          hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()

        def encode(value: int) -> str:
            return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
                "n": encode(numbers.n), "e": encode(numbers.e)}

    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode("ascii")

    def verify(self, token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(header, claims) of an RS256 JWT this key signed, or None."""
        try:
            header_part, claims_part, signature = token.split(".")
            header = json.loads(b64url_decode(header_part))
            claims = json.loads(b64url_decode(claims_part))
            if header.get("alg") != "RS256":
                return None
            self.private_key.public_key().verify(
                b64url_decode(signature), f"{header_part}.{claims_part}".encode(),
                padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature):
            return None
        return header, claims


def unverified_claims(token: str) -> dict[str, Any]:
    try:
        claims = json.loads(b64url_decode(token.split(".")[1]))
    except (ValueError, IndexError):
        return {}
    return claims if isinstance(claims, dict) else {}


# Partial responses (the ``fields`` parameter) ---------------------------------------------


class FieldsError(ValueError):
    pass


def parse_fields(text: str) -> dict[str, Any]:
    """``a,b/c,d(e,f/g)`` as a tree: name -> subtree, None selecting everything below."""
    position = 0

    def peek() -> str:
        return text[position] if position < len(text) else ""

    def name() -> str:
        nonlocal position
        start = position
        while position < len(text) and (text[position].isalnum() or text[position] in "_*@#$.-"):
            position += 1
        if start == position:
            raise FieldsError(f"Invalid field selection {text}")
        return text[start:position]

    def selection() -> dict[str, Any]:
        nonlocal position
        tree: dict[str, Any] = {}
        while True:
            path = [name()]
            while peek() == "/":
                position += 1
                path.append(name())
            sub: dict[str, Any] | None = None
            if peek() == "(":
                position += 1
                sub = selection()
                if peek() != ")":
                    raise FieldsError(f"Invalid field selection {text}")
                position += 1
            _merge(tree, path, sub)
            if peek() != ",":
                return tree
            position += 1

    tree = selection()
    if position != len(text):
        raise FieldsError(f"Invalid field selection {text}")
    return tree


def _merge(tree: dict[str, Any], path: list[str], sub: dict[str, Any] | None) -> None:
    node = tree
    for part in path[:-1]:
        if part in node and node[part] is None:
            return  # already selected whole
        node = node.setdefault(part, {})
    last = path[-1]
    if sub is None or (last in node and node[last] is None):
        node[last] = None
        return
    existing = node.setdefault(last, {})
    for key, value in sub.items():
        _merge(existing, [key], value)


def apply_fields(value: Any, tree: dict[str, Any] | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_fields(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, sub in tree.items():
        if key == "*":
            for name, item in value.items():
                result.setdefault(name, apply_fields(item, sub))
        elif key in value:
            result[key] = apply_fields(value[key], sub)
    return result


# Search queries (``users.list?query=``) ----------------------------------------------------


class QueryError(ValueError):
    pass


def parse_query(text: str) -> list[tuple[str, str, str]]:
    """Clauses ``field<op>value`` separated by spaces (an implicit AND); values may be
    quoted with ' and use backslash escapes."""
    clauses: list[tuple[str, str, str]] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        start = position
        while position < len(text) and (text[position].isalnum() or text[position] in "._"):
            position += 1
        name = text[start:position]
        if not name or position >= len(text) or text[position] not in "=:":
            raise QueryError(f"Invalid Input: {text}")
        operator = text[position]
        position += 1
        value = []
        if position < len(text) and text[position] == "'":
            position += 1
            while position < len(text) and text[position] != "'":
                if text[position] == "\\" and position + 1 < len(text):
                    position += 1
                value.append(text[position])
                position += 1
            if position >= len(text):
                raise QueryError(f"Invalid Input: {text}")
            position += 1
        else:
            while position < len(text) and not text[position].isspace():
                value.append(text[position])
                position += 1
        clauses.append((name, operator, "".join(value)))
    return clauses


# The directory -----------------------------------------------------------------------------


@dataclass
class FakeUser:
    id: str
    primary_email: str
    given_name: str = ""
    family_name: str = ""
    org_unit_path: str = "/"
    phones: list[dict[str, Any]] = field(default_factory=list)
    suspended: bool = False
    archived: bool = False
    is_admin: bool = False
    deleted: bool = False
    etag: str = field(default_factory=lambda: f'"{secrets.token_urlsafe(16)}"')

    def resource(self, customer_id: str) -> dict[str, Any]:
        """The user as ``users.list`` with ``projection=full`` returns it."""
        data: dict[str, Any] = {
            "kind": "admin#directory#user",
            "id": self.id,
            "etag": self.etag,
            "primaryEmail": self.primary_email,
            "name": {"givenName": self.given_name, "familyName": self.family_name,
                     "fullName": f"{self.given_name} {self.family_name}".strip()},
            "isAdmin": self.is_admin,
            "isDelegatedAdmin": False,
            "lastLoginTime": "1970-01-01T00:00:00.000Z",
            "creationTime": "2024-01-01T00:00:00.000Z",
            "agreedToTerms": True,
            "suspended": self.suspended,
            "archived": self.archived,
            "changePasswordAtNextLogin": False,
            "ipWhitelisted": False,
            "emails": [{"address": self.primary_email, "primary": True}],
            "customerId": customer_id,
            "orgUnitPath": self.org_unit_path,
            "isMailboxSetup": True,
            "isEnrolledIn2Sv": False,
            "isEnforcedIn2Sv": False,
            "includeInGlobalAddressList": True,
        }
        if self.phones:
            data["phones"] = [dict(phone) for phone in self.phones]
        if self.suspended:
            data["suspensionReason"] = "ADMIN"
        return data


@dataclass
class FakeMember:
    type: str  # USER, GROUP or CUSTOMER
    ref: str  # the user's or group's id, or the customer id
    role: str = "MEMBER"


@dataclass
class FakeGroup:
    id: str
    email: str
    members: list[FakeMember] = field(default_factory=list)


@dataclass
class Channel:
    id: str
    resource_id: str
    address: str
    token: str | None
    events: tuple[str, ...]
    expiration_ms: int
    resource_uri: str
    messages: int = 0


@dataclass
class Notification:
    """A push message as Google sends it: POST to ``address`` with these headers."""

    address: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # the receiver's answer, when delivered
    error: str | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    route: str
    status: int = 0

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str
    scopes: tuple[str, ...]
    email: str
    hd: str | None
    offline: bool
    nonce: str | None
    issued: float = field(default_factory=time.time)


@dataclass
class _RefreshGrant:
    client_id: str
    email: str
    hd: str | None
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class _AccessGrant:
    subject: str
    scopes: frozenset[str]
    refresh_token: str | None
    expires_at: float


@dataclass
class _ServiceAccount:
    client_email: str
    client_id: str
    key: SigningKey
    delegated_scopes: frozenset[str]


@dataclass
class _Consenter:
    email: str
    hd: str | None
    grants: frozenset[str] | None = None  # None: every scope asked for
    deny: bool = False


class FakeGoogle:
    """Google's OAuth endpoints and Directory API on one loopback port (see module doc)."""

    def __init__(
        self,
        *,
        domain: str = "example.com",
        customer_id: str = "C03az79cb",
        client_id: str = "fake-client.apps.googleusercontent.com",
        client_secret: str = "fake-client-secret",
        admin: str | None = None,
    ) -> None:
        self.domain = domain.lower()
        self.customer_id = customer_id
        self.client_id = client_id
        self.client_secret = client_secret
        # Who consents by default; ``admins`` may call the Directory API.
        self.admin = (admin or f"admin@{self.domain}").lower()
        self.admins: set[str] = {self.admin}
        self.users: dict[str, FakeUser] = {}
        self.groups: dict[str, FakeGroup] = {}
        self.requests: list[RecordedRequest] = []
        self.assertions: list[dict[str, Any]] = []
        self.channels: dict[str, Channel] = {}
        self.notifications: list[Notification] = []
        self.deliver_notifications = False
        self.allow_http_webhooks = False
        # OAuth knobs.
        self.redirect_uris: set[str] | None = None  # None: any redirect URI is registered
        self.issue_refresh_tokens = True
        self.id_token_claims: dict[str, Any] = {}
        self.forge_id_tokens = False
        self._consenter = _Consenter(email=self.admin, hd=self.domain)
        self._signing_key = SigningKey()
        self._forger: SigningKey | None = None  # made when forge_id_tokens is first used
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _RefreshGrant] = {}
        self._access: dict[str, _AccessGrant] = {}
        self._service_accounts: dict[str, _ServiceAccount] = {}
        self._page_tokens: dict[str, tuple[Any, ...]] = {}
        self._injected: dict[str, deque[FakeResponse]] = {}
        self._prerendered: dict[str | None, bytes] | None = None
        self.prerendered_ids: list[str] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._outbox: queue.Queue[Notification | None] = queue.Queue()
        self._courier: threading.Thread | None = None
        self._ids = 100000000000000000000

    # Running ---------------------------------------------------------------------------

    @classmethod
    def prerendered(cls, users: int, *, page_size: int = 500, **options: Any) -> FakeGoogle:
        """A fake whose ``users.list`` serves ``users`` generated users from bytes rendered
        now (see the module doc); ``prerendered_ids`` lists their ids in order."""
        fake = cls(**options)
        fake.prerender(users, page_size=page_size)
        return fake

    def prerender(self, count: int, *, page_size: int = 500) -> None:
        """Render the pages now: user N is ``userN@<domain>``, id 100000000000000000000+N,
        a work number; every 50th is suspended."""
        tree = parse_fields(PRERENDER_FIELDS)
        pages: dict[str | None, bytes] = {}
        ids: list[str] = []
        token: str | None = None
        for start in range(0, max(count, 1), page_size):
            users = []
            for number in range(start, min(start + page_size, count)):
                user = FakeUser(
                    id=str(100000000000000000000 + number),
                    primary_email=f"user{number:06d}@{self.domain}",
                    given_name="User", family_name=f"{number:06d}",
                    phones=[{"value": f"+1 555 {number:07d}", "type": "work", "primary": True}],
                    suspended=number % 50 == 49, etag='"prerendered"')
                ids.append(user.id)
                users.append(user.resource(self.customer_id))
            body: dict[str, Any] = {"kind": "admin#directory#users", "users": users}
            next_token = secrets.token_urlsafe(24) if start + page_size < count else None
            if next_token:
                body["nextPageToken"] = next_token
            pages[token] = json.dumps(apply_fields(body, tree)).encode()
            token = next_token
        with self._lock:
            self._prerendered = pages
            self.prerendered_ids = ids

    def start(self) -> FakeGoogle:
        """Listen on a free loopback port (``base_url``) and start delivering pushes."""
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fake-google", daemon=True)
        self._thread.start()
        self._courier = threading.Thread(target=self._deliver, name="fake-google-push",
                                         daemon=True)
        self._courier.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._courier is not None:
            self._outbox.put(None)
            self._courier.join(timeout=5)
            self._courier = None

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def auth_uri(self) -> str:
        return f"{self.base_url}/o/oauth2/v2/auth"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    @property
    def certs_uri(self) -> str:
        return f"{self.base_url}/oauth2/v3/certs"

    @property
    def revoke_uri(self) -> str:
        return f"{self.base_url}/revoke"

    @property
    def api_endpoint(self) -> str:
        return self.base_url

    def settings_values(self) -> dict[str, str]:
        """The ``google_*`` settings that point the service at this fake."""
        return {
            "google_client_id": self.client_id,
            "google_client_secret": self.client_secret,
            "google_auth_uri": self.auth_uri,
            "google_token_uri": self.token_uri,
            "google_api_endpoint": self.api_endpoint,
            "google_certs_uri": self.certs_uri,
        }

    # Directory contents ----------------------------------------------------------------

    def _new_id(self) -> str:
        with self._lock:
            self._ids += secrets.randbelow(1000) + 1
            return str(self._ids)

    def add_user(self, email: str, *, given_name: str = "", family_name: str = "",
                 org_unit_path: str = "/", phones: Iterable[Mapping[str, Any]] = (),
                 suspended: bool = False, archived: bool = False, is_admin: bool = False,
                 user_id: str | None = None) -> FakeUser:
        user = FakeUser(id=user_id or self._new_id(), primary_email=email,
                        given_name=given_name, family_name=family_name,
                        org_unit_path=org_unit_path, phones=[dict(p) for p in phones],
                        suspended=suspended, archived=archived, is_admin=is_admin)
        with self._lock:
            self.users[user.id] = user
        self._notify("add", user)
        return user

    def add_users(self, count: int, *, org_unit_path: str = "/", prefix: str = "user"
                  ) -> list[FakeUser]:
        """``count`` users ``<prefix>0001@<domain>``..., named and with a work number."""
        return [
            self.add_user(f"{prefix}{number:04d}@{self.domain}", given_name=prefix.title(),
                          family_name=f"{number:04d}", org_unit_path=org_unit_path,
                          phones=[{"value": f"+1 555 01{number:05d}", "type": "work"}])
            for number in range(1, count + 1)
        ]

    def update_user(self, user_id: str, **changes: Any) -> FakeUser:
        """Change FakeUser attributes (given_name=..., phones=...): an "update" event."""
        with self._lock:
            user = self.users[user_id]
            for name, value in changes.items():
                if not hasattr(user, name):
                    raise AttributeError(name)
                setattr(user, name, value)
            user.etag = f'"{secrets.token_urlsafe(16)}"'
        self._notify("update", user)
        return user

    def suspend_user(self, user_id: str, suspended: bool = True) -> FakeUser:
        return self.update_user(user_id, suspended=suspended)

    def archive_user(self, user_id: str, archived: bool = True) -> FakeUser:
        return self.update_user(user_id, archived=archived)

    def delete_user(self, user_id: str) -> None:
        """Deleted users leave the listing (they show with ``showDeleted=true``)."""
        with self._lock:
            user = self.users[user_id]
            user.deleted = True
        self._notify("delete", user)

    def undelete_user(self, user_id: str) -> None:
        with self._lock:
            user = self.users[user_id]
            user.deleted = False
        self._notify("undelete", user)

    def make_admin(self, user_id: str, is_admin: bool = True) -> None:
        with self._lock:
            user = self.users[user_id]
            user.is_admin = is_admin
            if is_admin:
                self.admins.add(user.primary_email.lower())
            else:
                self.admins.discard(user.primary_email.lower())
        self._notify("makeAdmin", user)

    def add_group(self, email: str, members: Iterable[FakeUser | FakeGroup | str] = ()
                  ) -> FakeGroup:
        group = FakeGroup(id=f"0{secrets.token_hex(7)}", email=email)
        with self._lock:
            self.groups[group.id] = group
        for member in members:
            self.add_member(group, member)
        return group

    def add_member(self, group: FakeGroup, member: FakeUser | FakeGroup | str,
                   role: str = "MEMBER") -> None:
        """A user, a (nested) group, or "CUSTOMER" (everyone in the account)."""
        if isinstance(member, FakeUser):
            entry = FakeMember("USER", member.id, role)
        elif isinstance(member, FakeGroup):
            entry = FakeMember("GROUP", member.id, role)
        elif member == "CUSTOMER":
            entry = FakeMember("CUSTOMER", self.customer_id, role)
        else:
            raise ValueError(f"not a member: {member!r}")
        with self._lock:
            group.members.append(entry)

    def remove_member(self, group: FakeGroup, member: FakeUser | FakeGroup) -> None:
        with self._lock:
            group.members = [entry for entry in group.members if entry.ref != member.id]

    # Grants ----------------------------------------------------------------------------

    def consent_as(self, email: str, *, hd: str | None = None,
                   grants: Iterable[str] | None = None, deny: bool = False) -> None:
        """Who logs in at the consent screen: ``hd`` is the account's Workspace domain
        (None for a consumer account); ``grants`` the scopes left ticked (None: all);
        ``deny`` answers access_denied."""
        with self._lock:
            self._consenter = _Consenter(email=email.lower(), hd=hd,
                                         grants=None if grants is None else frozenset(grants),
                                         deny=deny)

    def issue_refresh_token(self, email: str | None = None, *,
                            scopes: Iterable[str] = (USER_READONLY,),
                            hd: str | None = None) -> str:
        """A refresh token as if ``email`` (default: the administrator) had consented."""
        token = f"1//fake-{secrets.token_urlsafe(32)}"
        with self._lock:
            self._refresh[token] = _RefreshGrant(
                client_id=self.client_id, email=(email or self.admin).lower(),
                hd=hd or self.domain, scopes=tuple(scopes))
        return token

    def revoke(self, token: str) -> None:
        """Revoke a refresh token (and every access token it gave) or an access token."""
        with self._lock:
            if token in self._refresh:
                self._refresh[token].revoked = True
                for key in [k for k, v in self._access.items() if v.refresh_token == token]:
                    del self._access[key]
            self._access.pop(token, None)

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._access.clear()

    def add_service_account(self, client_email: str | None = None, *,
                            delegated_scopes: Iterable[str] = (USER_READONLY, GROUP_READONLY)
                            ) -> dict[str, Any]:
        """A service account and its JSON key file, with domain-wide delegation of
        ``delegated_scopes`` (empty: not delegated, as before the admin console step)."""
        key = SigningKey()
        email = client_email or f"sync-{secrets.token_hex(3)}@fake-project.iam.gserviceaccount.com"
        client_id = str(100000000000000000000 + secrets.randbelow(10**19))
        with self._lock:
            self._service_accounts[email] = _ServiceAccount(email, client_id, key,
                                                            frozenset(delegated_scopes))
        return {
            "type": "service_account",
            "project_id": "fake-project",
            "private_key_id": key.kid,
            "private_key": key.private_pem(),
            "client_email": email,
            "client_id": client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": GOOGLE_TOKEN_URL,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                                    + email.replace("@", "%40"),
            "universe_domain": "googleapis.com",
        }

    def delegate(self, client_email: str, scopes: Iterable[str]) -> None:
        """Change a service account's domain-wide delegation (empty: withdrawn)."""
        with self._lock:
            self._service_accounts[client_email].delegated_scopes = frozenset(scopes)

    # Errors and records ------------------------------------------------------------------

    def inject(self, route: str, response: FakeResponse, *, times: int = 1) -> None:
        """Answer the next ``times`` requests to ``route`` with ``response``."""
        with self._lock:
            self._injected.setdefault(route, deque()).extend([response] * times)

    def calls(self, route: str) -> list[RecordedRequest]:
        """The recorded requests to one route ("users.list", "token"...), in order."""
        with self._lock:
            return [request for request in self.requests if request.route == route]

    def wait_for_deliveries(self, timeout: float = 5.0) -> None:
        """Wait until every queued notification was POSTed (deliver_notifications)."""
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    # Dispatch ----------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes
               ) -> FakeResponse:
        """Record a request, then answer it: an injected response first, else the route."""
        parts = urlsplit(target)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        route, handler = self._route(method, path)
        record = RecordedRequest(method, path, query, headers, body, route)
        with self._lock:
            self.requests.append(record)
            pending = self._injected.get(route)
            response = pending.popleft() if pending else None
        if response is None:
            response = handler(record)
        record.status = response.status
        return response

    def _route(self, method: str, path: str
               ) -> tuple[str, Callable[[RecordedRequest], FakeResponse]]:
        routes: dict[tuple[str, str], tuple[str, Callable[[RecordedRequest], FakeResponse]]] = {
            ("GET", "/o/oauth2/v2/auth"): ("auth", self._authorize),
            ("POST", "/token"): ("token", self._token),
            ("GET", "/oauth2/v3/certs"): ("certs", self._certs),
            ("POST", "/revoke"): ("revoke", self._revoke),
            ("GET", "/admin/directory/v1/users"): ("users.list", self._users_list),
            ("POST", "/admin/directory/v1/users/watch"): ("users.watch", self._users_watch),
            ("POST", "/admin/directory_v1/channels/stop"): ("channels.stop",
                                                            self._channels_stop),
        }
        if (method, path) in routes:
            return routes[(method, path)]
        prefix, suffix = "/admin/directory/v1/groups/", "/members"
        if method == "GET" and path.startswith(prefix) and path.endswith(suffix):
            return "members.list", self._members_list
        return "unknown", lambda request: google_error(
            404, "notFound", f"Method not found: {request.method} {request.path}")

    # OAuth 2.0 -------------------------------------------------------------------------

    def _authorize(self, request: RecordedRequest) -> FakeResponse:
        """The consent screen, already answered by the configured administrator."""
        params = {key: values[0] for key, values in request.query.items()}
        if params.get("client_id") != self.client_id:
            return FakeResponse(401, b"Error 401: invalid_client", {"Content-Type": "text/plain"})
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or (self.redirect_uris is not None
                                and redirect_uri not in self.redirect_uris):
            return FakeResponse(400, b"Error 400: redirect_uri_mismatch",
                                {"Content-Type": "text/plain"})
        state = params.get("state")

        def back(values: dict[str, str]) -> FakeResponse:
            if state is not None:
                values = {"state": state, **values}
            joiner = "&" if "?" in redirect_uri else "?"
            return FakeResponse(302, b"", {"Location": redirect_uri + joiner + urlencode(values)})

        if params.get("response_type") != "code":
            return back({"error": "unsupported_response_type"})
        asked = _expand_scopes(params.get("scope", "").split())
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method", "plain")
        if not asked or (challenge and method not in ("S256", "plain")):
            return back({"error": "invalid_request"})
        with self._lock:
            consenter = self._consenter
            if consenter.deny:
                return back({"error": "access_denied"})
            granted = tuple(scope for scope in asked if consenter.grants is None
                            or scope in consenter.grants or not scope.startswith(_AUTH + "admin"))
            code = f"4/0fake-{secrets.token_urlsafe(32)}"
            self._codes[code] = _Code(
                client_id=self.client_id, redirect_uri=redirect_uri, challenge=challenge,
                method=method, scopes=granted, email=consenter.email, hd=consenter.hd,
                offline=params.get("access_type") == "offline", nonce=params.get("nonce"))
        values = {"code": code, "scope": " ".join(granted), "authuser": "0",
                  "prompt": params.get("prompt", "consent")}
        if consenter.hd:
            values["hd"] = consenter.hd
        return back(values)

    def _token(self, request: RecordedRequest) -> FakeResponse:
        form = request.form()
        grant_type = form.get("grant_type", "")
        if grant_type == JWT_BEARER:
            return self._jwt_bearer(form)
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return oauth_error(401, "invalid_client", "Unauthorized")
        if grant_type == "authorization_code":
            return self._redeem_code(form)
        if grant_type == "refresh_token":
            return self._refresh_grant(form)
        return oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _redeem_code(self, form: dict[str, str]) -> FakeResponse:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)
        if code is None or time.time() - code.issued > 600:
            return oauth_error(400, "invalid_grant", "Bad Request")
        if form.get("redirect_uri") != code.redirect_uri:
            return oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        if code.challenge:
            verifier = form.get("code_verifier")
            if not verifier:
                return oauth_error(400, "invalid_grant", "Missing code verifier.")
            expected = s256(verifier) if code.method == "S256" else verifier
            if expected != code.challenge:
                return oauth_error(400, "invalid_grant", "Invalid code verifier.")
        refresh_token = None
        if code.offline and self.issue_refresh_tokens:
            refresh_token = f"1//fake-{secrets.token_urlsafe(32)}"
            with self._lock:
                self._refresh[refresh_token] = _RefreshGrant(code.client_id, code.email,
                                                             code.hd, code.scopes)
        body = self._access_token_body(code.email, code.scopes, refresh_token)
        if "openid" in code.scopes:
            body["id_token"] = self._id_token(code.email, code.hd, code.nonce)
        if refresh_token:
            body["refresh_token"] = refresh_token
        return json_response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _refresh_grant(self, form: dict[str, str]) -> FakeResponse:
        token = form.get("refresh_token", "")
        with self._lock:
            grant = self._refresh.get(token)
        if grant is None or grant.revoked or grant.client_id != self.client_id:
            return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        scopes = grant.scopes
        if form.get("scope"):
            asked = tuple(_expand_scopes(form["scope"].split()))
            if not set(asked) <= set(grant.scopes):
                return oauth_error(400, "invalid_scope", "Bad Request")
            scopes = asked
        body = self._access_token_body(grant.email, scopes, token)
        if "openid" in scopes:
            body["id_token"] = self._id_token(grant.email, grant.hd, None)
        return json_response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _jwt_bearer(self, form: dict[str, str]) -> FakeResponse:
        """Service accounts: a JWT signed with the account's key, ``sub`` the user it
        acts as (domain-wide delegation)."""
        assertion = form.get("assertion", "")
        claims = unverified_claims(assertion)
        with self._lock:
            account = self._service_accounts.get(str(claims.get("iss", "")))
        if account is None:
            return oauth_error(400, "invalid_grant", "Invalid grant: account not found")
        verified = account.key.verify(assertion)
        if verified is None:
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        header, claims = verified
        with self._lock:
            self.assertions.append({"header": header, **claims})
        now = time.time()
        issued, expires = claims.get("iat", 0), claims.get("exp", 0)
        if (claims.get("aud") not in (GOOGLE_TOKEN_URL, self.token_uri)
                or not issued - 300 <= now <= expires + 300 or expires - issued > 3600):
            return oauth_error(400, "invalid_grant",
                               "Invalid JWT: Token must be a short-lived token (60 minutes) "
                               "and in a reasonable timeframe. Check your iat and exp values "
                               "in the JWT claim.")
        scopes = tuple(str(claims.get("scope", "")).split())
        if not scopes:
            return oauth_error(400, "invalid_scope",
                               "Invalid OAuth scope or ID token audience provided.")
        subject = claims.get("sub")
        if subject:
            if not set(scopes) <= account.delegated_scopes:
                return oauth_error(401, "unauthorized_client",
                                   "Client is unauthorized to retrieve access tokens using "
                                   "this method, or client not authorized for any of the "
                                   "scopes requested.")
            if not self._is_identity(str(subject)):
                return oauth_error(400, "invalid_grant", "Invalid email or User ID")
        body = self._access_token_body(str(subject or account.client_email), scopes, None)
        body.pop("scope", None)
        return json_response(200, body)

    def _is_identity(self, email: str) -> bool:
        email = email.lower()
        with self._lock:
            return email in self.admins or any(
                user.primary_email.lower() == email and not user.deleted
                for user in self.users.values())

    def _access_token_body(self, subject: str, scopes: tuple[str, ...],
                           refresh_token: str | None) -> dict[str, Any]:
        token = f"ya29.fake-{secrets.token_urlsafe(32)}"
        with self._lock:
            self._access[token] = _AccessGrant(subject.lower(), frozenset(scopes), refresh_token,
                                               time.time() + ACCESS_TOKEN_SECONDS)
        return {"access_token": token, "expires_in": ACCESS_TOKEN_SECONDS,
                "scope": " ".join(scopes), "token_type": "Bearer"}

    def _id_token(self, email: str, hd: str | None, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ID_TOKEN_ISSUER,
            "azp": self.client_id,
            "aud": self.client_id,
            "sub": str(int(hashlib.sha256(email.encode()).hexdigest()[:16], 16)),
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + 3600,
        }
        if hd:
            claims["hd"] = hd
        if nonce:
            claims["nonce"] = nonce
        for name, value in self.id_token_claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        signer = self._signing_key
        if self.forge_id_tokens:
            if self._forger is None:
                self._forger = SigningKey(kid=self._signing_key.kid)
            signer = self._forger
        return signer.sign(claims)

    def _certs(self, request: RecordedRequest) -> FakeResponse:
        return json_response(200, {"keys": [self._signing_key.jwk()]},
                             {"Cache-Control": "public, max-age=21600"})

    def _revoke(self, request: RecordedRequest) -> FakeResponse:
        token = request.form().get("token") or request.param("token") or ""
        with self._lock:
            known = token in self._refresh or token in self._access
        if not known:
            return oauth_error(400, "invalid_token", "Token expired or revoked")
        self.revoke(token)
        return json_response(200, {})

    # Directory API -----------------------------------------------------------------------

    def _caller(self, request: RecordedRequest, accepted: frozenset[str]
                ) -> FakeResponse | None:
        """None when the Bearer token may call a method needing one of ``accepted``."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        with self._lock:
            grant = self._access.get(token)
            if grant is None or grant.expires_at < time.time():
                return invalid_credentials()
            if grant.subject not in self.admins:
                return forbidden()
            if not grant.scopes & accepted:
                return insufficient_scopes()
        return None

    def _users_list(self, request: RecordedRequest) -> FakeResponse:
        refused = self._caller(request, USER_SCOPES)
        if refused:
            return refused
        if self._prerendered is not None:
            page = self._prerendered.get(request.param("pageToken"))
            if page is None:
                return google_error(400, "invalid", "Invalid Input")
            return FakeResponse(200, page, {"Content-Type": "application/json; charset=UTF-8"})
        params = {key: values[0] for key, values in request.query.items()}
        domain, customer = params.get("domain"), params.get("customer")
        if not domain and not customer:
            return google_error(400, "badRequest", "Bad Request")
        if (domain and domain.lower() != self.domain) or (
                customer and customer not in ("my_customer", self.customer_id)):
            return forbidden()
        try:
            limit = int(params.get("maxResults", "100"))
            order = params.get("orderBy", "")
            descending = params.get("sortOrder", "ASCENDING").upper() == "DESCENDING"
            if not 1 <= limit <= 500 or order not in ("", "email", "givenName", "familyName"):
                raise ValueError
            if params.get("projection", "basic") not in ("basic", "custom", "full"):
                raise ValueError
            predicate = _user_predicate(parse_query(params.get("query", "")))
            tree = parse_fields(params["fields"]) if params.get("fields") else None
        except FieldsError as error:
            return google_error(400, "invalidParameter", str(error))
        except ValueError:
            return google_error(400, "invalid", "Invalid Input")
        show_deleted = params.get("showDeleted", "false").lower() == "true"
        listing = (domain, customer, params.get("query", ""), show_deleted, order, descending)

        def key(user: FakeUser) -> tuple[str, str]:
            values = {"email": user.primary_email, "givenName": user.given_name,
                      "familyName": user.family_name}
            return values.get(order, "").casefold(), user.id

        with self._lock:
            after = None
            if params.get("pageToken"):
                bound = self._page_tokens.get(params["pageToken"])
                if bound is None or bound[0] != listing:
                    return google_error(400, "invalid", "Invalid Input")
                after = bound[1]
            matches = sorted((user for user in self.users.values()
                              if user.deleted == show_deleted and predicate(user)),
                             key=key, reverse=descending)
            if after is not None:
                matches = [user for user in matches
                           if (key(user) < after if descending else key(user) > after)]
            page = matches[:limit]
            body: dict[str, Any] = {"kind": "admin#directory#users",
                                    "etag": f'"{secrets.token_urlsafe(12)}"'}
            if page:
                body["users"] = [user.resource(self.customer_id) for user in page]
            if len(matches) > limit:
                token = secrets.token_urlsafe(32)
                self._page_tokens[token] = (listing, key(page[-1]))
                body["nextPageToken"] = token
        return json_response(200, apply_fields(body, tree))

    def _find_group(self, key: str) -> FakeGroup | None:
        with self._lock:
            return next((group for group in self.groups.values()
                         if key == group.id or key.lower() == group.email.lower()), None)

    def _members_list(self, request: RecordedRequest) -> FakeResponse:
        refused = self._caller(request, MEMBER_SCOPES)
        if refused:
            return refused
        key = unquote(request.path[len("/admin/directory/v1/groups/"):-len("/members")])
        group = self._find_group(key)
        if group is None:
            return google_error(404, "notFound", "Resource Not Found: groupKey")
        params = {name: values[0] for name, values in request.query.items()}
        try:
            limit = int(params.get("maxResults", "200"))
            if not 1 <= limit <= 200:
                raise ValueError
            tree = parse_fields(params["fields"]) if params.get("fields") else None
            offset = int(params["pageToken"].split("-")[-1]) if params.get("pageToken") else 0
        except FieldsError as error:
            return google_error(400, "invalidParameter", str(error))
        except ValueError:
            return google_error(400, "invalid", "Invalid Input")
        roles = set(params["roles"].split(",")) if params.get("roles") else None
        derived = params.get("includeDerivedMembership", "false").lower() == "true"
        with self._lock:
            entries = self._member_entries(group, derived, set())
        if roles is not None:
            entries = [entry for entry in entries if entry["role"] in roles]
        page = entries[offset:offset + limit]
        body: dict[str, Any] = {"kind": "admin#directory#members",
                                "etag": f'"{secrets.token_urlsafe(12)}"'}
        if page:
            body["members"] = page
        if offset + limit < len(entries):
            body["nextPageToken"] = f"{secrets.token_urlsafe(12)}-{offset + limit}"
        return json_response(200, apply_fields(body, tree))

    def _member_entries(self, group: FakeGroup, derived: bool, seen: set[str]
                        ) -> list[dict[str, Any]]:
        seen.add(group.id)
        entries: list[dict[str, Any]] = []
        for member in group.members:
            entry: dict[str, Any] = {"kind": "admin#directory#member", "etag": '"m"',
                                     "id": member.ref, "role": member.role,
                                     "type": member.type, "status": "ACTIVE"}
            if member.type == "USER":
                user = self.users.get(member.ref)
                if user is None or user.deleted:
                    continue
                entry["email"] = user.primary_email
                entry["status"] = "SUSPENDED" if user.suspended else "ACTIVE"
            elif member.type == "GROUP":
                nested = self.groups.get(member.ref)
                if nested is None:
                    continue
                entry["email"] = nested.email
                if derived:
                    if nested.id not in seen:
                        entries.extend(e for e in self._member_entries(nested, True, seen)
                                       if e["type"] == "USER")
                    continue
            entries.append(entry)
        return entries

    def _users_watch(self, request: RecordedRequest) -> FakeResponse:
        refused = self._caller(request, USER_SCOPES)
        if refused:
            return refused
        params = {key: values[0] for key, values in request.query.items()}
        domain, customer = params.get("domain"), params.get("customer")
        if not domain and not customer:
            return google_error(400, "badRequest", "Bad Request")
        if (domain and domain.lower() != self.domain) or (
                customer and customer not in ("my_customer", self.customer_id)):
            return forbidden()
        event = params.get("event")
        if event is not None and event not in WATCH_EVENTS:
            return google_error(400, "invalidParameter", f"Invalid value for: {event}")
        try:
            body = request.json()
            channel_id, address = body["id"], body["address"]
            ttl = int((body.get("params") or {}).get("ttl", DEFAULT_CHANNEL_TTL))
        except (ValueError, TypeError, KeyError):
            return google_error(400, "required", "Required")
        if body.get("type") not in ("web_hook", "webhook"):
            return google_error(400, "invalidParameter", f"Invalid value for: {body.get('type')}")
        if not address.startswith("https://") and not (
                self.allow_http_webhooks and address.startswith("http://")):
            return google_error(400, "push.webhookUrlNotHttps",
                                f"WebHook callback must be HTTPS: {address}", domain="push")
        expiration = int((time.time() + min(max(ttl, 1), MAX_CHANNEL_TTL)) * 1000)
        query = {"domain": domain} if domain else {"customer": customer}
        if event:
            query["event"] = event
        resource_uri = (f"https://admin.googleapis.com/admin/directory/v1/users?"
                        f"{urlencode({**query, 'alt': 'json'})}")
        with self._lock:
            if channel_id in self.channels:
                return google_error(400, "channelIdNotUnique",
                                    f"Channel id {channel_id} not unique", domain="push")
            # Without an event the channel gets them all (not documented by Google).
            channel = Channel(id=channel_id, resource_id=secrets.token_urlsafe(20),
                              address=address, token=body.get("token"),
                              events=(event,) if event else WATCH_EVENTS,
                              expiration_ms=expiration, resource_uri=resource_uri)
            self.channels[channel_id] = channel
            self._send(channel, "sync", None)
        answer: dict[str, Any] = {"kind": "api#channel", "id": channel.id,
                                  "resourceId": channel.resource_id,
                                  "resourceUri": resource_uri,
                                  "expiration": str(channel.expiration_ms)}
        if channel.token is not None:
            answer["token"] = channel.token
        return json_response(200, answer)

    def _channels_stop(self, request: RecordedRequest) -> FakeResponse:
        refused = self._caller(request, USER_SCOPES)
        if refused:
            return refused
        try:
            body = request.json()
            channel_id, resource_id = body["id"], body["resourceId"]
        except (ValueError, TypeError, KeyError):
            return google_error(400, "required", "Required")
        with self._lock:
            channel = self.channels.get(channel_id)
            if channel is None or channel.resource_id != resource_id:
                return google_error(404, "notFound",
                                    f"Channel '{channel_id}' not found for project "
                                    "'fake-project'")
            del self.channels[channel_id]
        return FakeResponse(204)

    # Push notifications ------------------------------------------------------------------

    def _notify(self, event: str, user: FakeUser) -> None:
        body = json.dumps({"kind": "admin#directory#user", "id": user.id, "etag": user.etag,
                           "primaryEmail": user.primary_email}).encode()
        with self._lock:
            for channel in list(self.channels.values()):
                if event in channel.events and channel.expiration_ms > time.time() * 1000:
                    self._send(channel, event, body)

    def _send(self, channel: Channel, state: str, body: bytes | None) -> None:
        channel.messages += 1
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": formatdate(channel.expiration_ms / 1000, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel.messages),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        if body is not None:
            headers["Content-Type"] = "application/json; charset=UTF-8"
        notification = Notification(channel.address, headers, body or b"")
        self.notifications.append(notification)
        if self.deliver_notifications:
            self._outbox.put(notification)

    def _deliver(self) -> None:
        with httpx.Client(timeout=5) as client:
            while True:
                notification = self._outbox.get()
                try:
                    if notification is None:
                        return
                    try:
                        answer = client.post(notification.address, headers=notification.headers,
                                             content=notification.body)
                        notification.status = answer.status_code
                    except httpx.HTTPError as error:
                        notification.error = str(error)
                finally:
                    self._outbox.task_done()


def _expand_scopes(scopes: Iterable[str]) -> list[str]:
    """Google's short scope names as the token endpoint reports them."""
    names = {"email": USERINFO_EMAIL, "profile": USERINFO_PROFILE}
    result: list[str] = []
    for scope in scopes:
        expanded = names.get(scope, scope)
        if expanded not in result:
            result.append(expanded)
    return result


def _user_predicate(clauses: list[tuple[str, str, str]]) -> Callable[[FakeUser], bool]:
    """The users.list search clauses this fake understands, ANDed."""
    tests: list[Callable[[FakeUser], bool]] = []
    for name, operator, value in clauses:
        tests.append(_clause(name, operator, value))
    return lambda user: all(test(user) for test in tests)


def _clause(name: str, operator: str, value: str) -> Callable[[FakeUser], bool]:
    folded = value.casefold()
    if name == "orgUnitPath" and operator == "=":
        # "This matches all org unit chains under the target."
        unit = "/" + folded.strip("/")
        return lambda user: unit == "/" or user.org_unit_path.casefold() == unit or \
            user.org_unit_path.casefold().startswith(unit + "/")
    flags = {"isSuspended": "suspended", "isArchived": "archived", "isAdmin": "is_admin"}
    if name in flags and operator == "=" and folded in ("true", "false"):
        attribute = flags[name]
        return lambda user: getattr(user, attribute) == (folded == "true")
    texts: dict[str, Callable[[FakeUser], str]] = {
        "email": lambda user: user.primary_email,
        "givenName": lambda user: user.given_name,
        "familyName": lambda user: user.family_name,
    }
    if name in texts:
        read = texts[name]
        if operator == "=":
            return lambda user: read(user).casefold() == folded
        if folded.endswith("*"):
            return lambda user: read(user).casefold().startswith(folded[:-1])
        return lambda user: folded in read(user).casefold()
    raise QueryError(f"Invalid Input: {name}{operator}{value}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGoogle/1.0"
    timeout = 30
    owner: FakeGoogle

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.owner.handle(method, self.path, headers, body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
