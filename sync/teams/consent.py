"""Linking an Entra tenant: the admin consent request, its answer, and the domain proof.

An administrator of the customer's Entra tenant is sent to the v2.0 admin consent
endpoint (:func:`admin_consent_url`); Entra sends the browser back to our
``redirect_uri`` with ``tenant``, ``admin_consent=True`` and our ``state``, or with
``error`` and ``error_description`` (:func:`consent_result`). Checking ``state``
against the session that asked (a forged callback) is the caller's job: it holds it.

The ``tenant`` of the callback is only a claim (Microsoft warns never to trust it to
authorise anything; anyone can craft the redirect). So before a link is stored,
:func:`verify_domain` asks Graph, with an app-only token issued *by that tenant*,
for its domains: the WeHostVoIP tenant's domain must be one of them and verified,
or someone consented for a directory that does not own the domain.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import quote, urlencode

import httpx

from core.settings import Settings
from sync.directory import ConsentRefusedError, ConsentRevokedError, DirectoryError
from sync.teams.tokens import PlatformCredentialsError, app_token, graph_scope, shared_http_client

# Right after consent, Entra may take a few seconds to create the service principal
# everywhere: a token refused as "no consent" is asked again after these waits.
PROPAGATION_WAITS = (2.0, 5.0)


def admin_consent_url(settings: Settings, *, state: str, redirect_uri: str) -> str:
    """Where to send the administrator: ``/organizations/v2.0/adminconsent`` (any work
    tenant; the answer says which) for the ``.default`` Graph scope, i.e. every
    application permission the platform's registration requires."""
    if not settings.microsoft_client_id:
        raise PlatformCredentialsError(
            "Microsoft sign-in is not configured (WEHOSTVOIP_MICROSOFT_CLIENT_ID)")
    query = urlencode({
        "client_id": settings.microsoft_client_id,
        "scope": graph_scope(settings),
        "redirect_uri": redirect_uri,
        "state": state,
    }, quote_via=quote)
    host = settings.microsoft_authority_host.rstrip("/")
    return f"{host}/organizations/v2.0/adminconsent?{query}"


def consent_result(params: Mapping[str, str]) -> str:
    """The Entra tenant id (a GUID, lower case) from the callback's query parameters.

    Entra's error answers still carry ``admin_consent=True``, so ``error`` is looked at
    first. Raises :class:`ConsentRefusedError` ``CONSENT_DENIED`` (refused, cancelled or
    not admin consent) or ``CONSENT_FAILED`` (no usable tenant)."""
    error = (params.get("error") or "").strip()
    if error:
        description = (params.get("error_description") or "").strip().splitlines()
        detail = f": {description[0]}" if description else ""
        raise ConsentRefusedError("CONSENT_DENIED",
                                  f"The administrator did not consent ({error}{detail})")
    if (params.get("admin_consent") or "").strip().lower() != "true":
        raise ConsentRefusedError("CONSENT_DENIED", "The answer is not an admin consent")
    tenant = (params.get("tenant") or "").strip()
    if not tenant:
        raise ConsentRefusedError("CONSENT_FAILED", "The consent answer names no tenant")
    try:
        return str(uuid.UUID(tenant))
    except ValueError:
        raise ConsentRefusedError("CONSENT_FAILED",
                                  f"The consent answer's tenant is not an id: {tenant!r}") from None


def _token(settings: Settings, tenant_id: str, http: httpx.Client,
           sleep: Callable[[float], object], waits: Sequence[float]) -> str:
    for wait in (*waits, None):
        try:
            return app_token(settings, tenant_id, http_client=http)
        except ConsentRevokedError as error:
            if wait is None:
                raise ConsentRefusedError(
                    "CONSENT_FAILED", f"No token from the consented tenant: {error}") from error
            sleep(wait)
        except (DirectoryError, ValueError) as error:
            raise ConsentRefusedError(
                "CONSENT_FAILED", f"No token from the consented tenant: {error}") from error
    raise AssertionError("unreachable")


def verify_domain(
    settings: Settings,
    tenant_id: str,
    domain: str,
    *,
    http_client: httpx.Client | None = None,
    sleep: Callable[[float], object] = time.sleep,
    propagation_waits: Sequence[float] = PROPAGATION_WAITS,
) -> None:
    """Require ``domain`` (any case) among the verified domains of the Entra tenant.

    Raises :class:`ConsentRefusedError` ``WRONG_DOMAIN`` when it is not there (or not
    verified), ``CONSENT_FAILED`` when no token or no domain list could be had."""
    http = http_client or shared_http_client(settings)
    token = _token(settings, tenant_id, http, sleep, propagation_waits)
    graph = settings.microsoft_graph_url.rstrip("/")
    wanted = domain.strip().lower().rstrip(".")
    verified: set[str] = set()
    url: str | None = f"{graph}/v1.0/domains"
    while url:
        try:
            response = http.get(url, headers={"Authorization": f"Bearer {token}",
                                              "Accept": "application/json"})
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as error:
            raise ConsentRefusedError(
                "CONSENT_FAILED", f"Microsoft Graph could not list the domains: {error}"
            ) from error
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            raise ConsentRefusedError(
                "CONSENT_FAILED",
                f"Microsoft Graph did not list the domains (HTTP {response.status_code})")
        for entry in body["value"]:
            if (isinstance(entry, Mapping) and entry.get("isVerified") is True
                    and isinstance(entry.get("id"), str)):
                verified.add(entry["id"].lower())
        link = body.get("@odata.nextLink")
        url = link if isinstance(link, str) and link.startswith(graph + "/") else None
    if wanted not in verified:
        raise ConsentRefusedError(
            "WRONG_DOMAIN",
            f"{wanted} is not a verified domain of the Entra tenant that consented")
