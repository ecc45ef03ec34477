"""The adapter of a link's provider, built from the link's stored credentials."""

from __future__ import annotations

from typing import Any

from core.models import DirectoryLink, DirectoryProvider
from core.settings import Settings
from sync.directory import ConsentRevokedError, DirectoryAdapter, SyncScope


def scope_of(link: DirectoryLink) -> SyncScope:
    scope: dict[str, Any] = link.scope or {}
    return SyncScope(groups=tuple(scope.get("groups") or ()),
                     org_units=tuple(scope.get("org_units") or ()))


def adapter_for(settings: Settings, link: DirectoryLink, domain: str,
                credentials: dict[str, Any]) -> DirectoryAdapter:
    """Google: the refresh token or service account; Microsoft: the Entra tenant id."""
    if link.provider is DirectoryProvider.GOOGLE:
        from google.auth.credentials import Credentials

        from sync.google.consent import oauth_credentials, service_account_credentials
        from sync.google.directory import GoogleDirectory

        google: Credentials

        if credentials.get("kind") == "service_account":
            google = service_account_credentials(settings, credentials["key"],
                                                 credentials["subject"],
                                                 with_groups=bool(scope_of(link).groups))
        elif credentials.get("refresh_token"):
            google = oauth_credentials(settings, credentials["refresh_token"])
        else:
            raise ConsentRevokedError("no Google credentials are stored: consent again")
        return GoogleDirectory(settings, google, domain=domain, scope=scope_of(link))
    from sync.teams.directory import TeamsDirectory

    if not link.external_tenant_id:
        raise ConsentRevokedError("no Entra tenant is recorded: consent again")
    return TeamsDirectory(settings, link.external_tenant_id, domains=[domain],
                          scope=scope_of(link))
