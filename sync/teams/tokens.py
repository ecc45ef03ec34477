"""App-only tokens for Microsoft Graph, one msal application per Entra tenant.

The platform is one multi-tenant Entra application. A customer's administrator
grants it admin consent; from then on the platform asks that customer's tenant
(authority ``{microsoft_authority_host}/{tenant id}``) for app-only tokens with
the client-credentials grant, scope ``{microsoft_graph_url}/.default``
(``https://graph.microsoft.com/.default`` with the default settings).

Why a registry: msal keeps tokens in the ``ConfidentialClientApplication`` that
obtained them, and its constructor fetches the tenant's OpenID configuration over
the network. Building one per call would lose the token cache and add a round trip
to every sync run, so the process keeps one application per (authority host,
client id, Entra tenant) and every run reuses it. The registry is thread-safe, and
an application is built outside the global lock so one slow tenant does not hold
up the others.

Why httpx: msal accepts any object with requests-like ``get``/``post``
(:class:`MsalHttpClient` adapts an ``httpx.Client``). Graph calls use the same
client, so one HTTP stack serves both, ``REQUESTS_CA_BUNDLE`` cannot silently
override ``microsoft_ca_bundle``, and tests can route the real login and Graph
hosts to a local fake through the client's transport while msal keeps its https
authority (it refuses ``http://`` ones). Instance discovery is switched off: the
authority host comes from our settings (national clouds included), so asking
``login.microsoftonline.com`` whether it is known adds nothing but a request.

msal returns token errors as dicts; :func:`token_error` turns them into the
failures the sync engine understands (codes from ``error_codes`` or the
``AADSTSnnnn:`` prefix of ``error_description``):

- :class:`ConsentRevokedError` (an administrator must consent again): AADSTS65001
  (consent not granted), AADSTS7000229 (no service principal in the tenant: the
  enterprise application was deleted or consent never completed), AADSTS700016
  (application not found in the directory), AADSTS7000112 (application disabled),
  AADSTS500011 (Graph's service principal missing in the tenant), AADSTS50020,
  AADSTS90002 (tenant not found: deleted, or a wrong id), and the OAuth errors
  ``unauthorized_client``, ``invalid_tenant`` and ``invalid_client`` (other than a
  bad secret); also a tenant whose OpenID configuration answers 4xx.
- :class:`PlatformCredentialsError` (our own application is misconfigured, no
  administrator of the customer can fix it): AADSTS7000215 (invalid secret),
  AADSTS7000222 (expired secret), ``invalid_scope``, and missing client id/secret.
- :class:`DirectoryUnavailableError` (try later): ``temporarily_unavailable``,
  ``server_error``, any 5xx, 429, an unreadable answer and network errors.
- Anything else: a plain :class:`DirectoryError` carrying Entra's description.

An application whose token request ended in :class:`ConsentRevokedError` is
dropped from the registry: msal replays a cached HTTP 400 for about a minute per
application, and a re-consent must work at once.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msal
from msal.exceptions import MsalError

from core.settings import Settings
from sync.directory import (
    ConsentRevokedError,
    DirectoryError,
    DirectoryUnavailableError,
)

log = logging.getLogger(__name__)

HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

# A tenant is named by its GUID (or a domain name); nothing that could leave the path.
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$")
_AADSTS = re.compile(r"AADSTS(\d+)")

CONSENT_REVOKED_CODES = frozenset({65001, 7000229, 700016, 7000112, 500011, 50020, 90002})
BAD_SECRET_CODES = frozenset({7000215, 7000222})
CONSENT_REVOKED_ERRORS = frozenset({"unauthorized_client", "invalid_tenant", "invalid_client"})
UNAVAILABLE_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


class PlatformCredentialsError(DirectoryError):
    """The platform's own Entra application is misconfigured (client id or secret missing,
    invalid or expired): the operator must fix the settings, not the customer."""

    code = "MICROSOFT_APP_CREDENTIALS"


def graph_scope(settings: Settings) -> str:
    """The app-only scope of Graph for the configured cloud (``.default``: whatever
    application permissions the administrator consented to)."""
    return f"{settings.microsoft_graph_url.rstrip('/')}/.default"


def authority(settings: Settings, tenant_id: str) -> str:
    """The tenant's own authority: app-only tokens must come from the customer's tenant,
    never from /common or /organizations."""
    return f"{settings.microsoft_authority_host.rstrip('/')}/{tenant_id}"


# The HTTP client ----------------------------------------------------------------------------


class MsalHttpClient:
    """The requests-like surface msal uses (``get``/``post`` returning objects with
    ``status_code``, ``text``, ``headers``), over an ``httpx.Client`` it does not own."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, url: str, params: Any = None, headers: Any = None,
            **kwargs: Any) -> httpx.Response:
        return self.client.get(url, params=params, headers=headers,
                               timeout=kwargs.get("timeout", httpx.USE_CLIENT_DEFAULT))

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **kwargs: Any) -> httpx.Response:
        body: dict[str, Any] = (
            {"data": dict(data)} if isinstance(data, Mapping) else {"content": data})
        return self.client.post(url, params=params, headers=headers,
                                timeout=kwargs.get("timeout", httpx.USE_CLIENT_DEFAULT), **body)

    def close(self) -> None:
        """The client belongs to whoever passed it in; msal must not close it."""


_shared_clients: dict[Path | None, httpx.Client] = {}
_shared_lock = threading.Lock()


def shared_http_client(settings: Settings) -> httpx.Client:
    """The process's client for the login and Graph hosts, trusting
    ``microsoft_ca_bundle`` when set (else the system's CAs). Shared so that its
    connection pool and the msal applications bound to it live as long as the process."""
    bundle = settings.microsoft_ca_bundle
    with _shared_lock:
        client = _shared_clients.get(bundle)
        if client is None:
            verify: ssl.SSLContext | bool = (
                ssl.create_default_context(cafile=str(bundle)) if bundle else True)
            client = httpx.Client(verify=verify, timeout=HTTP_TIMEOUT)
            _shared_clients[bundle] = client
        return client


# The registry -------------------------------------------------------------------------------


@dataclass
class _Entry:
    app: msal.ConfidentialClientApplication
    secret: str
    http_client: httpx.Client


_Key = tuple[str, str, str]
_apps: dict[_Key, _Entry] = {}
_building: dict[_Key, threading.Lock] = {}
_registry_lock = threading.Lock()


def _credentials(settings: Settings) -> tuple[str, str]:
    secret = settings.microsoft_client_secret
    if not settings.microsoft_client_id or secret is None or not secret.get_secret_value():
        raise PlatformCredentialsError(
            "Microsoft sign-in is not configured (WEHOSTVOIP_MICROSOFT_CLIENT_ID and "
            "WEHOSTVOIP_MICROSOFT_CLIENT_SECRET)")
    return settings.microsoft_client_id, secret.get_secret_value()


def _key(settings: Settings, tenant_id: str) -> _Key:
    if not _TENANT.match(tenant_id):
        raise ValueError(f"not an Entra tenant id: {tenant_id!r}")
    host = settings.microsoft_authority_host.rstrip("/").lower()
    if urlsplit(host).scheme != "https":
        raise PlatformCredentialsError(
            f"the Microsoft authority host must be an https URL, not {host!r}")
    return host, settings.microsoft_client_id, tenant_id.lower()


def _lookup(key: _Key, secret: str, http_client: httpx.Client) -> _Entry | None:
    entry = _apps.get(key)
    if entry is not None and entry.secret == secret and entry.http_client is http_client:
        return entry
    return None


def application(settings: Settings, tenant_id: str, *,
                http_client: httpx.Client | None = None) -> msal.ConfidentialClientApplication:
    """The msal application for this tenant, built on first use and reused afterwards.

    A new one replaces the stored one when the secret or the HTTP client changed (a
    rotated secret, or a test with its own fake server)."""
    client_id, secret = _credentials(settings)
    http = http_client or shared_http_client(settings)
    key = _key(settings, tenant_id)
    with _registry_lock:
        entry = _lookup(key, secret, http)
        if entry is not None:
            return entry.app
        building = _building.setdefault(key, threading.Lock())
    with building:  # one construction per tenant at a time, others tenants unaffected
        with _registry_lock:
            entry = _lookup(key, secret, http)
            if entry is not None:
                return entry.app
        app = _construct(settings, tenant_id, client_id, secret, http)
        with _registry_lock:
            _apps[key] = _Entry(app, secret, http)
        return app


def _construct(settings: Settings, tenant_id: str, client_id: str, secret: str,
               http: httpx.Client) -> msal.ConfidentialClientApplication:
    try:
        return msal.ConfidentialClientApplication(
            client_id,
            client_credential=secret,
            authority=authority(settings, tenant_id),
            http_client=MsalHttpClient(http),
            instance_discovery=False,
        )
    except ValueError as error:
        # msal's tenant discovery answered 4xx: Entra does not know this tenant (any more).
        raise ConsentRevokedError(
            f"Microsoft Entra does not know the tenant {tenant_id} (deleted, or a wrong id)"
        ) from error
    except (httpx.HTTPError, MsalError) as error:
        raise DirectoryUnavailableError(
            f"Microsoft Entra could not be reached for tenant {tenant_id}: {error}") from error


def forget(settings: Settings, tenant_id: str,
           app: msal.ConfidentialClientApplication | None = None) -> None:
    """Drop the stored application of a tenant (only if it is ``app``, when given)."""
    key = _key(settings, tenant_id)
    with _registry_lock:
        entry = _apps.get(key)
        if entry is not None and (app is None or entry.app is app):
            del _apps[key]


# Tokens -------------------------------------------------------------------------------------


def _error_codes(result: Mapping[str, Any]) -> set[int]:
    codes = {code for code in result.get("error_codes") or () if isinstance(code, int)}
    codes.update(int(number) for number in _AADSTS.findall(str(result.get("error_description"))))
    return codes


def token_error(result: Mapping[str, Any]) -> DirectoryError:
    """The failure an msal error dict stands for (the mapping is in the module docstring)."""
    error = str(result.get("error") or "")
    description = str(result.get("error_description") or error or "no token in the answer")
    summary = description.splitlines()[0].split(" Trace ID:")[0]
    codes = _error_codes(result)
    if codes & BAD_SECRET_CODES or error == "invalid_scope":
        return PlatformCredentialsError(f"The platform's Microsoft application: {summary}")
    if codes & CONSENT_REVOKED_CODES or error in CONSENT_REVOKED_ERRORS:
        return ConsentRevokedError(f"Admin consent no longer works: {summary}")
    if error in UNAVAILABLE_ERRORS:
        return DirectoryUnavailableError(f"Microsoft Entra is unavailable: {summary}")
    return DirectoryError(f"Microsoft Entra refused a token: {summary}")


def app_token(settings: Settings, tenant_id: str, *, http_client: httpx.Client | None = None,
              fresh: bool = False) -> str:
    """An app-only Graph access token for the tenant, from msal's cache when still valid.

    ``fresh`` drops the cached token first: for a 401 from Graph, which may only mean the
    cached token was revoked early. Raises the failures listed in the module docstring."""
    app = application(settings, tenant_id, http_client=http_client)
    if fresh:
        app.remove_tokens_for_client()
    try:
        result = app.acquire_token_for_client(scopes=[graph_scope(settings)])
    except (httpx.HTTPError, MsalError, ValueError) as error:
        # 5xx (msal raises on them), network errors, an answer that is not JSON.
        raise DirectoryUnavailableError(
            f"Microsoft Entra could not issue a token for tenant {tenant_id}: {error}"
        ) from error
    if result and "access_token" in result:
        return str(result["access_token"])
    failure = token_error(result or {})
    log.info("token for Entra tenant %s refused: %s", tenant_id, failure)
    if isinstance(failure, ConsentRevokedError):
        forget(settings, tenant_id, app)
    raise failure
