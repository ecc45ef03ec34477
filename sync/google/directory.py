"""A Google Workspace domain as pages of directory users (Admin SDK Directory API).

Google has no delta query for users: each round lists everyone in scope
(``users.list``, at most 500 a page) and the engine compares it with what it
holds, so every round ends with ``full=True`` and no ``next_round``. Push
notifications (``users.watch``) only say that something changed, to start a
round early; :func:`parse_notification` reads them for the webhook.

Throttling is handled here, not by the client library: its ``num_retries``
ignores ``Retry-After`` and does not retry 403 ``quotaExceeded``, one of the
two quota errors Google documents. So requests run with ``num_retries=0`` and
:meth:`GoogleDirectory._call` waits ``Retry-After`` (429, 503) or backs off
exponentially with jitter (403 rate limits, 5xx, network failures), then gives
up with :class:`DirectoryUnavailableError` for the job to be retried later.
A grant that stopped working (401 still after google-auth's own token refreshes,
403 forbidden still after one more refresh, a refresh token or delegation Google
refuses with invalid_grant or unauthorized_client) is
:class:`ConsentRevokedError`: an administrator must consent again.

Scoping: org units are searched server side (``query=orgUnitPath='/Sales'``
matches the unit and the units below it); groups are expanded to their users
first (``members.list``, nested groups followed, cycles cut), then the domain
is listed and only those users are kept.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest

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

log = logging.getLogger(__name__)

USER_FIELDS = (
    "nextPageToken,users(id,primaryEmail,name(givenName,familyName,fullName),"
    "phones(value,type,primary),orgUnitPath,suspended,archived)"
)
MEMBER_FIELDS = "nextPageToken,members(id,email,type)"
MAX_PAGE_SIZE = 500  # users.list
MEMBERS_PAGE_SIZE = 200  # members.list
# 403 reasons that mean "slow down", not "not allowed" (Directory API limits page).
RATE_LIMIT_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"})
# 403 reasons that mean the grant lacks a right: worth one token refresh, then revoked.
PERMISSION_REASONS = frozenset({"", "forbidden", "insufficientPermissions", "authError"})
# Token endpoint errors that only a new consent (or a new delegation) can fix.
REVOKED_GRANT_ERRORS = frozenset({"invalid_grant", "unauthorized_client", "access_denied",
                                  "invalid_scope"})
# users.watch events; each channel follows one (see GoogleDirectory.watch_users).
WATCH_EVENTS = ("add", "delete", "makeAdmin", "undelete", "update")
# The events that change what the PBX holds (makeAdmin does not).
SYNC_EVENTS = ("add", "delete", "undelete", "update")
MAX_BACKOFF_SECONDS = 64.0
# Which of a user's numbers comes first when several are listed: a desk phone
# before a mobile, a home number last.
PHONE_TYPE_ORDER = ("work", "work_mobile", "mobile", "main", "company_main", "other", "home")
EVERYONE = SyncScope()


class _RequestRejectedError(DirectoryError):
    """A 4xx the grant is not to blame for (bad request, not found): retrying won't help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WatchChannel:
    """An open push channel: ``channel_id`` and ``resource_id`` stop it again."""

    channel_id: str
    resource_id: str
    expires_at: datetime | None
    event: str = "update"


@dataclass(frozen=True)
class Notification:
    """One push notification, from its X-Goog-* headers (Google sends no signature: the
    channel token we chose is what shows the message comes from our channel)."""

    channel_id: str
    token: str
    # "sync" when the channel opens, then the event: add, delete, update, undelete...
    resource_state: str
    message_number: int
    resource_id: str = ""
    resource_uri: str = ""
    channel_expiration: str = ""

    @property
    def is_sync(self) -> bool:
        return self.resource_state == "sync"


def parse_notification(headers: Mapping[str, str]) -> Notification:
    """Read a push notification's headers (any case); ValueError when they are not one."""
    values = {name.lower(): value.strip() for name, value in headers.items()}
    channel_id = values.get("x-goog-channel-id", "")
    state = values.get("x-goog-resource-state", "")
    if not channel_id or not state:
        raise ValueError("not a Google push notification: no X-Goog-Channel-ID or "
                         "X-Goog-Resource-State header")
    try:
        number = int(values.get("x-goog-message-number", ""))
    except ValueError:
        raise ValueError("X-Goog-Message-Number is missing or not a number") from None
    return Notification(
        channel_id=channel_id,
        token=values.get("x-goog-channel-token", ""),
        resource_state=state,
        message_number=number,
        resource_id=values.get("x-goog-resource-id", ""),
        resource_uri=values.get("x-goog-resource-uri", ""),
        channel_expiration=values.get("x-goog-channel-expiration", ""),
    )


def directory_user(raw: Mapping[str, Any], *, groups: tuple[str, ...] = ()) -> DirectoryUser:
    """One ``users.list`` entry as the engine sees it; suspended or archived users are
    SUSPENDED (their extension is disabled, and enabled again when they come back)."""
    name_value = raw.get("name")
    name: Mapping[str, Any] = name_value if isinstance(name_value, Mapping) else {}
    given = str(name.get("givenName") or "")
    family = str(name.get("familyName") or "")
    display = str(name.get("fullName") or "") or " ".join(part for part in (given, family) if part)
    suspended = bool(raw.get("suspended")) or bool(raw.get("archived"))
    return DirectoryUser(
        external_id=str(raw["id"]),
        email=str(raw.get("primaryEmail") or "").strip().lower(),
        given_name=given,
        family_name=family,
        display_name=display,
        phones=_phones(raw.get("phones")),
        department=str(raw.get("orgUnitPath") or ""),
        state=UserState.SUSPENDED if suspended else UserState.ACTIVE,
        groups=groups,
    )


def _phones(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    entries = [entry for entry in raw if isinstance(entry, Mapping) and entry.get("value")]

    def rank(entry: Mapping[str, Any]) -> tuple[bool, int]:
        kind = str(entry.get("type") or "")
        order = PHONE_TYPE_ORDER.index(kind) if kind in PHONE_TYPE_ORDER else len(PHONE_TYPE_ORDER)
        return not entry.get("primary"), order

    phones: list[str] = []
    for entry in sorted(entries, key=rank):
        value = str(entry["value"]).strip()
        if value and value not in phones:
            phones.append(value)
    return tuple(phones)


class GoogleDirectory:
    """The :class:`~sync.directory.DirectoryAdapter` of one Google Workspace domain.

    ``credentials`` come from :mod:`sync.google.consent` (a consent's refresh token or a
    delegated service account). ``sleep`` is injectable so tests see the waits;
    ``max_wait`` is the longest ``Retry-After`` worth sleeping through in a worker:
    beyond it the job is given back at once with that delay.
    """

    # Every round lists the whole domain, its changes scattered over every page: written a
    # few pages at a time, a round costs a few transactions rather than one per page.
    pages_per_write = 20

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        *,
        domain: str,
        scope: SyncScope = EVERYONE,
        page_size: int = MAX_PAGE_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 6,
        timeout: float = 30,
        max_wait: float = 120.0,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self._domain = domain
        self._scope = scope
        self._page_size = page_size
        self._retries = RetryPolicy(
            max_attempts=max_attempts, max_wait=max_wait, sleep=sleep, backoff=self._backoff,
            unavailable=lambda problem, attempts: (
                f"Google is throttling or failing ({problem}) after {attempts} attempt(s)"))
        self._credentials = credentials
        # build() takes credentials or http, not both: the timeout lives on the http.
        self._http = google_auth_httplib2.AuthorizedHttp(
            credentials, http=httplib2.Http(timeout=timeout)
        )
        self._service = build(
            "admin",
            "directory_v1",
            http=self._http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": settings.google_api_endpoint},
        )

    def close(self) -> None:
        """Close the HTTP connections (httplib2 keeps them open otherwise)."""
        self._service.close()

    def __enter__(self) -> GoogleDirectory:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Listing -------------------------------------------------------------------------

    def pages(self, *, resume: str | None, state: str | None = None) -> Iterator[Page]:
        """The users in scope, a page at a time.

        ``resume`` is the ``resume`` of the last page an interrupted round committed:
        Google's nextPageToken when the round is one listing (the whole domain, groups,
        or one org unit); with several org units, a JSON object naming the org unit and
        its page token. A resume point from a differently scoped round, or one Google no
        longer accepts (page tokens live three days), starts the listing over. ``state``
        is ignored: Google lists in full every round.
        """
        del state
        org_units = _normalise_org_units(self._scope.org_units)
        if self._scope.groups:
            members, whole_domain = self._resolve_groups()
            listings: list[str | None] = [None]
        else:
            members, whole_domain = {}, set()
            listings = [None] if not org_units or "/" in org_units else list(org_units)
        filtered = bool(self._scope.groups)
        start, token = _resume_point(listings, resume)
        for index in range(start, len(listings)):
            last_listing = index == len(listings) - 1
            page_token = token if index == start else None
            for raw_users, next_token in self._user_pages(listings[index], page_token):
                users: list[DirectoryUser] = []
                for raw in raw_users:
                    if not raw.get("id"):
                        continue
                    groups = tuple(sorted(members.get(raw["id"], set()) | whole_domain))
                    if filtered and not groups and not _in_org_units(raw, org_units):
                        continue
                    users.append(directory_user(raw, groups=groups))
                if next_token:
                    resume_at = _resume_token(listings, index, next_token)
                elif not last_listing:
                    resume_at = _resume_token(listings, index + 1, None)
                else:
                    resume_at = None
                yield Page(
                    users=users,
                    resume=resume_at,
                    complete=resume_at is None,
                    full=True,
                    next_round=None,
                )

    def _user_pages(
        self, org_unit: str | None, token: str | None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """(users, nextPageToken) per page of one listing, from ``token`` when given."""
        restartable = token is not None
        while True:
            params: dict[str, Any] = {
                "domain": self._domain,
                "maxResults": self._page_size,
                "projection": "basic",
                "fields": USER_FIELDS,
            }
            if token:
                params["pageToken"] = token
            if org_unit:
                params["query"] = _org_unit_query(org_unit)
            try:
                response = self._call(self._service.users().list(**params), "users.list")
            except _RequestRejectedError as error:
                if not (restartable and error.status == 400):
                    raise
                log.warning("Google refused the resume page token (%s); listing from the start",
                            error)
                restartable, token = False, None
                continue
            restartable = False
            token = response.get("nextPageToken") or None
            yield list(response.get("users") or []), token
            if not token:
                return

    def _resolve_groups(self) -> tuple[dict[str, set[str]], set[str]]:
        """Which scope groups each user id belongs to, directly or through nested groups,
        and the scope groups that hold the whole domain (a CUSTOMER member)."""
        cache: dict[str, list[dict[str, Any]]] = {}
        users: dict[str, set[str]] = {}
        whole_domain: set[str] = set()
        for top in self._scope.groups:
            seen = {top.casefold()}
            pending = [top]
            while pending:
                key = pending.pop()
                try:
                    members = self._group_members(key, cache)
                except _RequestRejectedError as error:
                    if error.status != 404:
                        raise
                    if key is top:
                        raise _RequestRejectedError(
                            f"the group {top} is not in the directory", 404
                        ) from None
                    log.warning("nested group %s of %s not found; skipped", key, top)
                    continue
                for member in members:
                    kind = str(member.get("type") or "").upper()
                    if kind == "USER" and member.get("id"):
                        users.setdefault(str(member["id"]), set()).add(top)
                    elif kind == "CUSTOMER":
                        whole_domain.add(top)
                    elif kind == "GROUP":
                        names = {str(value).casefold() for value in
                                 (member.get("id"), member.get("email")) if value}
                        if names and not names & seen:
                            seen |= names
                            pending.append(str(member.get("id") or member.get("email")))
        return users, whole_domain

    def _group_members(
        self, key: str, cache: dict[str, list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        if key.casefold() in cache:
            return cache[key.casefold()]
        members: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"groupKey": key, "maxResults": MEMBERS_PAGE_SIZE,
                                      "fields": MEMBER_FIELDS}
            if token:
                params["pageToken"] = token
            response = self._call(self._service.members().list(**params),
                                  f"members.list of {key}")
            members.extend(response.get("members") or [])
            token = response.get("nextPageToken") or None
            if not token:
                cache[key.casefold()] = members
                return members

    # Push notifications ----------------------------------------------------------------

    def watch_users(
        self,
        *,
        channel_id: str,
        token: str,
        address: str,
        ttl_seconds: int,
        event: str = "update",
    ) -> WatchChannel:
        """Open a push channel on the domain's users for one event.

        ``users.watch`` takes one ``event`` per channel (add, delete, makeAdmin,
        undelete, update). "update" (the default) covers suspensions, renames and
        phone changes; a caller that also wants adds and deletes early opens one
        channel per event in :data:`SYNC_EVENTS`, each with its own ``channel_id``.
        Google caps ``ttl_seconds``; the answer's ``expires_at`` is what counts.
        """
        if event not in WATCH_EVENTS:
            raise ValueError(f"event must be one of {', '.join(WATCH_EVENTS)}")
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "params": {"ttl": str(int(ttl_seconds))},
        }
        request = self._service.users().watch(domain=self._domain, event=event, body=body)
        response = self._call(request, "users.watch")
        resource_id = response.get("resourceId")
        if not resource_id:
            raise DirectoryError("Google opened the channel without a resourceId")
        return WatchChannel(
            channel_id=str(response.get("id") or channel_id),
            resource_id=str(resource_id),
            expires_at=_from_millis(response.get("expiration")),
            event=event,
        )

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        """Stop a push channel; one Google no longer knows (expired, stopped) is fine."""
        request = self._service.channels().stop(body={"id": channel_id, "resourceId": resource_id})
        try:
            self._call(request, "channels.stop")
        except _RequestRejectedError as error:
            if error.status != 404:
                raise

    # One request, with retries ---------------------------------------------------------

    def _call(self, request: HttpRequest, what: str) -> dict[str, Any]:
        """Execute with retries (``sync.retry``): the answer, else a typed failure."""
        return with_retries(lambda fresh: self._call_once(request, what, fresh), self._retries)

    def _call_once(self, request: HttpRequest, what: str, fresh: bool) -> dict[str, Any]:
        try:
            if fresh:
                self._credentials.refresh(google_auth_httplib2.Request(self._http.http))
            response = request.execute(num_retries=0)
            return response if isinstance(response, dict) else {}
        except HttpError as error:
            status = error.resp.status
            reason, message = _error_details(error)
            problem = f"{what}: HTTP {status} {reason or ''} {message}".strip()
            throttled = status in (429, 503) or (status == 403 and reason in RATE_LIMIT_REASONS)
            if status == 401:
                raise ConsentRevokedError(f"Google no longer accepts the grant ({problem})") \
                    from None
            if status == 403 and not throttled:
                if reason not in PERMISSION_REASONS:
                    raise _RequestRejectedError(problem, status) from None
                # A token minted before rights changed: try once with a fresh one.
                raise StaleCredentials(ConsentRevokedError(
                    f"the grant lacks the right to read the directory ({problem})")) from None
            if status < 500 and not throttled:
                raise _RequestRejectedError(problem, status) from None
            retry_after = _retry_after(error.resp.get("retry-after")) \
                if status in (429, 503) else None
            raise RetryLater(problem, retry_after) from None
        except google.auth.exceptions.RefreshError as error:
            grant_error, retryable = _grant_error(error)
            if grant_error in REVOKED_GRANT_ERRORS:
                raise ConsentRevokedError(f"Google refused the grant ({error})") from None
            if not retryable:
                raise DirectoryError(f"Google refused to refresh the credentials ({error})") \
                    from None
            raise RetryLater(f"token refresh for {what}: {error}") from None
        except (google.auth.exceptions.TransportError, httplib2.HttpLib2Error,
                OSError) as error:
            raise RetryLater(f"{what}: {type(error).__name__}: {error}") from None

    @staticmethod
    def _backoff(attempt: int) -> float:
        """Exponential backoff with up to a second of jitter, as Google recommends."""
        jitter = random.random()  # noqa: S311 - spreading retries, not a secret
        return min(MAX_BACKOFF_SECONDS, 2.0 ** (attempt - 1)) + jitter


# Helpers --------------------------------------------------------------------------------


def _error_details(error: HttpError) -> tuple[str, str]:
    """(reason, message) from Google's JSON error body, e.g. ("quotaExceeded", "...")."""
    try:
        body = json.loads(error.content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return "", str(getattr(error.resp, "reason", "") or "")
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        return "", ""
    errors = detail.get("errors")
    reason = ""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = str(errors[0].get("reason") or "")
    return reason, str(detail.get("message") or "")


def _grant_error(error: google.auth.exceptions.RefreshError) -> tuple[str, bool]:
    """The OAuth error code of a failed refresh ("invalid_grant"...) and whether
    google-auth thinks it is worth retrying."""
    data = error.args[1] if len(error.args) > 1 else None
    code = ""
    if isinstance(data, Mapping):
        code = str(data.get("error") or "")
    elif error.args:
        code = str(error.args[0]).split(":", 1)[0].strip()
    return code, bool(getattr(error, "retryable", False))


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _from_millis(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _normalise_org_units(paths: tuple[str, ...]) -> tuple[str, ...]:
    """Org unit paths as "/A/B", each once (names are case-insensitive), without those
    below another listed unit: a search on a unit already returns its sub-units."""
    unique: dict[str, str] = {}
    for path in paths:
        cleaned = "/" + path.strip().strip("/")
        unique.setdefault(cleaned.casefold(), cleaned)
    return tuple(sorted(
        path for key, path in unique.items()
        if not any(other != key and _below(key, other) for other in unique)
    ))


def _below(path: str, unit: str) -> bool:
    """Whether casefolded ``path`` is ``unit`` or inside it."""
    return unit == "/" or path == unit or path.startswith(unit + "/")


def _in_org_units(raw: Mapping[str, Any], org_units: tuple[str, ...]) -> bool:
    path = str(raw.get("orgUnitPath") or "/").casefold()
    return any(_below(path, unit.casefold()) for unit in org_units)


def _org_unit_query(path: str) -> str:
    """users.list search clause; quoted, with quotes and backslashes escaped."""
    escaped = path.replace("\\", "\\\\").replace("'", "\\'")
    return f"orgUnitPath='{escaped}'"


def _resume_token(listings: list[str | None], index: int, token: str | None) -> str:
    if len(listings) == 1:
        return token or ""
    return json.dumps({"orgUnit": listings[index], "pageToken": token}, sort_keys=True)


def _resume_point(listings: list[str | None], resume: str | None) -> tuple[int, str | None]:
    """(listing index, page token) to start from; (0, None) for a fresh round."""
    if not resume:
        return 0, None
    if len(listings) == 1:
        return (0, None) if resume.startswith("{") else (0, resume)
    try:
        point = json.loads(resume)
        index = listings.index(point["orgUnit"])
    except (ValueError, TypeError, KeyError):
        return 0, None
    token = point.get("pageToken")
    return index, token if isinstance(token, str) and token else None
