"""Where a directory's administrator comes back after consenting: one callback per provider.

``GET /oauth/google/callback?code=...&state=...`` and
``GET /oauth/microsoft/callback?tenant=...&admin_consent=True&state=...``.

The ``state`` must name a pending consent request of this platform, made from
the same browser session (``core.directory_links.consent_request_for``); it is
used up whatever happens next, so a callback cannot be replayed. Then the
provider's adapter checks the grant: Google's id_token must carry the tenant's
domain as ``hd``; the Entra tenant must hold the tenant's domain as a verified
domain. Only then is the link stored. The browser is sent back to the web app
with the outcome (``?directory=linked`` or ``?directory=error&code=...``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import anyio
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.authentication import authenticate, request_id
from core.directory_links import (
    complete_consent,
    consent_request_for,
    refuse_consent,
    sync_domain,
)
from core.errors import DomainError
from core.models import DirectoryConsentRequest, Tenant
from core.secrets import secret_box
from core.settings import Settings
from schema.core.ids import to_global_id
from schema.directory.mutations import GOOGLE_CALLBACK, MICROSOFT_CALLBACK
from sync.directory import ConsentRefusedError, DirectoryError

Check = Callable[[DirectoryConsentRequest, str], tuple[str | None, dict[str, Any]]]


def _back(settings: Settings, tenant_id: uuid.UUID | None, **outcome: str) -> Response:
    query = dict(outcome)
    if tenant_id is not None:
        query["tenant"] = to_global_id("Tenant", tenant_id)
    target = f"{settings.links_base_url.rstrip('/')}/?{urlencode(query)}"
    return RedirectResponse(target, status_code=303, headers={"Referrer-Policy": "no-referrer",
                                                               "Cache-Control": "no-store"})


async def _callback(request: Request, check: Check) -> Response:
    settings: Settings = request.app.state.settings
    sessions = request.app.state.sessions
    authenticated = await authenticate(request, settings, sessions, request_id(request))
    state = request.query_params.get("state", "")

    def claim(session: Session) -> tuple[DirectoryConsentRequest, str]:
        found = consent_request_for(session, state, authenticated.auth_session_id)
        tenant = session.get(Tenant, found.tenant_id)
        assert tenant is not None
        return found, sync_domain(session, tenant)

    async with sessions() as session:
        try:
            async with session.begin():
                consent, domain = await session.run_sync(claim)
        except DomainError as error:
            return _back(settings, None, directory="error", code=error.errors[0].code.value)
    try:
        external_tenant_id, credentials = await anyio.to_thread.run_sync(check, consent, domain)
    except (ConsentRefusedError, DirectoryError) as refused:
        code, reason = refused.code, str(refused)
        async with sessions() as session, session.begin():
            await session.run_sync(lambda s: refuse_consent(s, consent, code, reason))
        return _back(settings, consent.tenant_id, directory="error", code=code)
    box = secret_box(settings.secret_key_bytes())
    async with sessions() as session, session.begin():
        await session.run_sync(lambda s: complete_consent(
            s, box, consent, external_tenant_id=external_tenant_id, credentials=credentials))
    return _back(settings, consent.tenant_id, directory="linked")


async def google_callback(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    params = request.query_params

    def check(consent: DirectoryConsentRequest, domain: str) -> tuple[str | None, dict[str, Any]]:
        from sync.google.consent import exchange_code

        if params.get("error") or not params.get("code"):
            raise ConsentRefusedError("CONSENT_DENIED", f"consent was not given "
                                      f"({params.get('error') or 'no code'})")
        verifier = secret_box(settings.secret_key_bytes()).decrypt(
            consent.code_verifier_encrypted or "")
        grant = exchange_code(settings, code=params["code"], code_verifier=verifier,
                              redirect_uri=settings.public_base_url.rstrip("/") + GOOGLE_CALLBACK,
                              expected_domain=domain)
        return grant.hosted_domain, {"kind": "oauth", "refresh_token": grant.refresh_token,
                                     "email": grant.email}

    return await _callback(request, check)


async def microsoft_callback(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    params = dict(request.query_params)

    def check(consent: DirectoryConsentRequest, domain: str) -> tuple[str | None, dict[str, Any]]:
        from sync.teams.consent import consent_result, verify_domain

        entra_tenant = consent_result(params)
        verify_domain(settings, entra_tenant, domain)
        return entra_tenant, {"kind": "admin_consent"}

    return await _callback(request, check)


oauth_routes = [
    Route(GOOGLE_CALLBACK, google_callback, methods=["GET"]),
    Route(MICROSOFT_CALLBACK, microsoft_callback, methods=["GET"]),
]
