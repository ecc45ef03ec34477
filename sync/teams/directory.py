"""An Entra tenant's users as pages of :class:`DirectoryUser`, from Graph's users delta query.

Why the delta query (``GET /v1.0/users/delta``) rather than ``/users``: its first
round lists every user, and its last page carries an ``@odata.deltaLink`` from
which the next round lists only the users changed since, deletions included. The
deltaLink is the round's ``next_round``; every page's ``resume`` is the
``@odata.nextLink`` that follows it, so an interrupted run continues where its
last committed page ended. Links are opaque (they carry the ``$select`` of the
first request) and are followed as Graph wrote them, on the configured Graph
origin only: the bearer token is never sent anywhere else.

``full`` (absence means deletion) is true for a round that started without a
deltaLink. A resumed round cannot tell from a bare nextLink how it began, so the
nextLinks of full rounds are handed out with a ``#full`` fragment: fragments never
go on the wire (RFC 3986), and the mark survives the checkpoint. A round resumed
from an unmarked link is full only when no ``state`` was stored (it must have begun
from scratch); otherwise it is taken as incremental, which can only miss deletions,
never invent them.

Mapping (properties ``id, mail, userPrincipalName, givenName, surname, displayName,
businessPhones, mobilePhone, department, accountEnabled``):

- ``email``: ``mail``, else ``userPrincipalName``, lower-cased; ``phones``:
  ``businessPhones`` then ``mobilePhone``; ``accountEnabled`` false -> SUSPENDED.
- ``@removed`` ``changed`` (in deleted items, restorable for 30 days) -> SUSPENDED,
  ``deleted`` (permanently) -> DELETED; a restored user comes back as an ordinary
  record. Removed entries carry only the id, so they pass without a domain check:
  the engine matches by external id and ignores ids it never synced.
- Partial records: without ``Prefer: return=minimal`` (never sent here) Graph repeats
  every selected property on each delta record, changed or not, and omits only
  properties never set; ``userPrincipalName`` is always set. A live record with
  neither ``mail`` nor ``userPrincipalName`` therefore cannot be placed and is left out.
- Scope: users whose address is not in ``domains`` are left out of full rounds (their
  absence says it). In an incremental round a changed user now outside the domains
  comes as DELETED with its id only: the outcome absence would have in a full round,
  for a user who was renamed out of the domain (an id the engine never synced is
  ignored).
- Groups (``SyncScope.groups``, Entra group ids): the transitive user members of each
  group are read first (``/groups/{id}/transitiveMembers/microsoft.graph.user``,
  paged, ``$top`` = ``page_size`` or 999) and only they pass, with
  ``DirectoryUser.groups`` naming their scope groups. Joining or leaving a group does
  not change the user object, so it never shows in a users delta: group-scoped rounds
  are therefore always full (the stored ``state`` is not used; ``next_round`` is still
  returned). A scope group that no longer exists stops the run
  (:class:`ScopeGroupNotFoundError`) rather than deprovisioning its members.

Failures: 410 Gone, or 400 on a deltaLink/nextLink (``syncStateNotFound``,
``resyncRequired``: the token expired, lifetime seven days for directory objects),
restart a full round from scratch once (its pages say ``full=True``; users listed
before the restart come again, which the engine takes as replays). 429 and 503
honour ``Retry-After`` (seconds or an HTTP date), other 5xx and network errors back
off exponentially (1, 2, 4... s, at most 32), through the injectable ``sleep``; after
``max_attempts`` attempts, or when asked to wait more than a minute (a worker should
not sleep that long), :class:`DirectoryUnavailableError` carries the wait. A 401 gets
one retry with a fresh token; a second 401, or a 403 (``Authorization_RequestDenied``:
permissions revoked), is :class:`ConsentRevokedError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from core.settings import Settings
from sync.directory import (
    ConsentRevokedError,
    DirectoryError,
    DirectoryUser,
    Page,
    SyncScope,
    UserState,
)
from sync.retry import RetryLater, RetryPolicy, StaleCredentials, with_retries
from sync.teams.tokens import app_token, shared_http_client

log = logging.getLogger(__name__)

SELECT = (
    "id", "mail", "userPrincipalName", "givenName", "surname", "displayName",
    "businessPhones", "mobilePhone", "department", "accountEnabled",
)
FULL_MARK = "#full"
MAX_WAIT = 60.0  # seconds a worker may sleep on one Retry-After
BACKOFF_FIRST = 1.0
BACKOFF_CAP = 32.0
MAX_MEMBERS_PAGE = 999
RESYNC_CODES = frozenset({"syncStateNotFound", "resyncRequired", "syncStateInvalid"})


class ScopeGroupNotFoundError(DirectoryError):
    """A group of the sync scope does not exist in the tenant (any more)."""

    code = "SCOPE_GROUP_NOT_FOUND"


class GraphError(DirectoryError):
    """An answer of Graph that no retry will change (4xx other than 401/403/429)."""

    def __init__(self, status: int, codes: tuple[str, ...], message: str) -> None:
        super().__init__(f"Microsoft Graph answered {status} {'/'.join(codes)}: {message}")
        self.status = status
        self.codes = codes


def _error_codes(body: Any) -> tuple[str, ...]:
    """Graph's error code and the codes of its nested inner errors, outermost first."""
    codes: list[str] = []
    error = body.get("error") if isinstance(body, Mapping) else None
    while isinstance(error, Mapping):
        if isinstance(error.get("code"), str):
            codes.append(error["code"])
        error = error.get("innerError") or error.get("innererror")
    return tuple(codes)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


class TeamsDirectory:
    """The :class:`~sync.directory.DirectoryAdapter` of one linked Entra tenant."""

    # Each page's link of a full round is where an interrupted round resumes: every page
    # is written. A delta round's pages are written a few hundred changes at a time.
    pages_per_write = 1

    def __init__(
        self,
        settings: Settings,
        tenant_id: str,
        *,
        domains: Sequence[str],
        scope: SyncScope = SyncScope(),  # noqa: B008 - frozen, shared safely
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], object] = time.sleep,
        max_attempts: int = 6,
        page_size: int | None = None,
    ) -> None:
        """``domains``: the tenant's linked e-mail domains; ``page_size``: ``$top`` of the
        group member listing (Graph chooses the page size of a users delta itself)."""
        if scope.org_units:
            raise ValueError("org units are a Google Workspace notion; Entra scopes by group")
        if page_size is not None and not 1 <= page_size <= MAX_MEMBERS_PAGE:
            raise ValueError(f"page_size must be between 1 and {MAX_MEMBERS_PAGE}")
        self._settings = settings
        self._tenant_id = tenant_id
        self._domains = frozenset(d.strip().lower().rstrip(".") for d in domains if d.strip())
        if not self._domains:
            raise ValueError("at least one domain is needed")
        self._scope = scope
        self._http = http_client or shared_http_client(settings)
        self._retries = RetryPolicy(
            max_attempts=max_attempts, max_wait=MAX_WAIT, sleep=sleep,
            backoff=lambda attempt: min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (attempt - 1)),
            unavailable=lambda problem, attempts: (
                f"Microsoft Graph {problem} ({attempts} attempt(s))"))
        self._page_size = page_size or MAX_MEMBERS_PAGE
        graph = urlsplit(settings.microsoft_graph_url.rstrip("/"))
        self._graph = f"{graph.scheme}://{graph.netloc}{graph.path}"
        self._origin = (graph.scheme, graph.netloc.lower())

    # The round ------------------------------------------------------------------------------

    def initial_url(self) -> str:
        return f"{self._graph}/v1.0/users/delta?$select={','.join(SELECT)}"

    def pages(self, *, resume: str | None = None, state: str | None = None) -> Iterator[Page]:
        """The pages of one round (see the module docstring for resume, state and full)."""
        members = self._scope_members() if self._scope.groups else None
        url, full = self._start(resume, state, grouped=members is not None)
        restarted = False
        while True:
            try:
                body = self._get(url)
            except GraphError as error:
                if restarted or not self._must_resync(error, url):
                    raise
                log.warning("Entra tenant %s: %s; starting a full round", self._tenant_id, error)
                restarted, full, url = True, True, self.initial_url()
                continue
            page = self._page(body, full, members)
            yield page
            if page.complete:
                return
            url = page.resume or ""

    def _start(self, resume: str | None, state: str | None, *, grouped: bool) -> tuple[str, bool]:
        if resume:
            link, _, mark = resume.partition("#")
            if self._ours(link):
                return link, mark == FULL_MARK[1:] or grouped or not state
            log.warning("Entra tenant %s: checkpoint not on %s; starting afresh",
                        self._tenant_id, self._graph)
        elif state and not grouped:
            if self._ours(state):
                return state, False
            log.warning("Entra tenant %s: stored deltaLink not on %s; starting afresh",
                        self._tenant_id, self._graph)
        return self.initial_url(), True

    def _ours(self, link: str) -> bool:
        parts = urlsplit(link)
        return ((parts.scheme, parts.netloc.lower()) == self._origin
                and parts.path.startswith(urlsplit(self._graph).path + "/v1.0/"))

    @staticmethod
    def _must_resync(error: GraphError, url: str) -> bool:
        if error.status == 410 or set(error.codes) & RESYNC_CODES:
            return True
        query = urlsplit(url).query.lower()
        return error.status == 400 and ("$deltatoken=" in query or "$skiptoken=" in query)

    def _page(self, body: Mapping[str, Any], full: bool,
              members: Mapping[str, tuple[str, ...]] | None) -> Page:
        records = body.get("value")
        if not isinstance(records, list):
            raise DirectoryError("Microsoft Graph sent a delta page without a value list")
        users = [user for record in records if isinstance(record, Mapping)
                 and (user := self._user(record, full, members)) is not None]
        next_link = body.get("@odata.nextLink")
        delta_link = body.get("@odata.deltaLink")
        if isinstance(next_link, str) and next_link:
            return Page(users=users, resume=next_link + (FULL_MARK if full else ""),
                        complete=False, full=full)
        if isinstance(delta_link, str) and delta_link:
            return Page(users=users, resume=None, complete=True, full=full,
                        next_round=delta_link)
        raise DirectoryError("Microsoft Graph sent a delta page with neither nextLink "
                             "nor deltaLink")

    def _user(self, record: Mapping[str, Any], full: bool,
              members: Mapping[str, tuple[str, ...]] | None) -> DirectoryUser | None:
        user_id = _text(record.get("id"))
        if not user_id:
            return None
        removed = record.get("@removed")
        if removed is not None:
            reason = removed.get("reason") if isinstance(removed, Mapping) else None
            state = UserState.DELETED if reason == "deleted" else UserState.SUSPENDED
            return DirectoryUser(external_id=user_id, state=state)
        email = (_text(record.get("mail")) or _text(record.get("userPrincipalName"))).lower()
        if not email:
            return None
        in_scope = _domain(email) in self._domains and (members is None or user_id in members)
        if not in_scope:
            return None if full else DirectoryUser(external_id=user_id, state=UserState.DELETED)
        business = record.get("businessPhones")
        numbers = [*(business if isinstance(business, list) else ()), record.get("mobilePhone")]
        phones = tuple(dict.fromkeys(_text(n) for n in numbers if _text(n)))
        return DirectoryUser(
            external_id=user_id,
            email=email,
            given_name=_text(record.get("givenName")),
            family_name=_text(record.get("surname")),
            display_name=_text(record.get("displayName")),
            phones=phones,
            department=_text(record.get("department")),
            state=UserState.SUSPENDED if record.get("accountEnabled") is False
            else UserState.ACTIVE,
            groups=members.get(user_id, ()) if members is not None else (),
        )

    def _scope_members(self) -> dict[str, tuple[str, ...]]:
        """User id -> the scope groups it belongs to, directly or through nested groups."""
        found: dict[str, list[str]] = {}
        for group in self._scope.groups:
            url: str | None = (
                f"{self._graph}/v1.0/groups/{quote(group, safe='')}/transitiveMembers/"
                f"microsoft.graph.user?$select=id&$top={self._page_size}")
            while url:
                try:
                    body = self._get(url)
                except GraphError as error:
                    if error.status == 404:
                        raise ScopeGroupNotFoundError(
                            f"The group {group} of the sync scope does not exist in the "
                            "Entra tenant") from error
                    raise
                for record in body.get("value") or ():
                    if isinstance(record, Mapping) and _text(record.get("id")):
                        found.setdefault(_text(record.get("id")), []).append(group)
                link = body.get("@odata.nextLink")
                url = link if isinstance(link, str) and link else None
        return {user_id: tuple(groups) for user_id, groups in found.items()}

    # HTTP -----------------------------------------------------------------------------------

    def _get(self, url: str) -> dict[str, Any]:
        """GET a Graph URL with retries (``sync.retry``); the JSON body of a 200, else a
        typed failure."""
        if not self._ours(url):
            raise DirectoryError(f"refusing to follow a link off {self._graph}: {url}")
        return with_retries(lambda fresh: self._get_once(url, fresh), self._retries)

    def _get_once(self, url: str, fresh: bool) -> dict[str, Any]:
        token = app_token(self._settings, self._tenant_id, http_client=self._http, fresh=fresh)
        try:
            response = self._http.get(url, headers={
                "Authorization": f"Bearer {token}", "Accept": "application/json"})
        except httpx.TransportError as error:
            raise RetryLater(f"could not be reached ({type(error).__name__}: {error})") \
                from None
        status = response.status_code
        if status == 200:
            return self._json(response)
        if status in (401, 403):
            revoked = ConsentRevokedError(
                f"Microsoft Graph refused the platform ({status} "
                f"{'/'.join(self._codes(response)) or 'no code'}): admin consent "
                "must be given again")
            if status == 401:  # the cached token may have been revoked early
                raise StaleCredentials(revoked)
            raise revoked
        if status != 429 and status < 500:
            raise GraphError(status, self._codes(response), self._message(response))
        raise RetryLater(f"answered {status}", _retry_after(response))

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as error:
            raise DirectoryError("Microsoft Graph sent an answer that is not JSON") from error
        if not isinstance(body, dict):
            raise DirectoryError("Microsoft Graph sent an answer that is not a JSON object")
        return body

    @staticmethod
    def _codes(response: httpx.Response) -> tuple[str, ...]:
        try:
            return _error_codes(response.json())
        except ValueError:
            return ()

    @staticmethod
    def _message(response: httpx.Response) -> str:
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            return response.text[:200]
        message = error.get("message") if isinstance(error, Mapping) else None
        return message if isinstance(message, str) else response.text[:200]
