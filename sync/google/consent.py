"""How a tenant's Google Workspace administrator lets the platform read the directory.

Two ways, one outcome (google-auth credentials that can list the domain's users):

* OAuth 2.0 consent, the usual path: an administrator of the domain is sent to
  Google with :func:`consent_url` (authorization code flow with PKCE, offline
  access so that a refresh token comes back), and the callback's code is turned
  into a :class:`GoogleGrant` by :func:`exchange_code`. The grant is only
  accepted when Google's signed id_token says the account belongs to the
  tenant's verified domain (the ``hd`` claim): the ``hd`` request parameter is
  a hint for Google's account chooser, and anyone can remove it from the URL.
* A service account with domain-wide delegation, for workspaces whose policy
  forbids third-party OAuth apps: the tenant uploads the key
  (:func:`check_service_account_key`) and names an administrator to act as.

The refresh token or key is stored encrypted by the caller; here it is only
turned into credentials (:func:`oauth_credentials`,
:func:`service_account_credentials`) with exactly the scopes consented to.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import google.auth.exceptions
import google.oauth2.credentials
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt
from google.oauth2 import service_account

from core.settings import Settings
from sync.directory import ConsentRefusedError, DirectoryUnavailableError

USER_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
GROUP_SCOPE = "https://www.googleapis.com/auth/admin.directory.group.readonly"
ID_TOKEN_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
# Tolerated difference between our clock and Google's when checking iat/exp.
CLOCK_SKEW_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class GoogleGrant:
    """What a successful consent leaves: the refresh token and who gave it."""

    refresh_token: str
    email: str  # the consenting administrator (lower case)
    hosted_domain: str  # the id_token's ``hd`` claim (lower case)
    scopes: tuple[str, ...] = ()  # as granted (the admin may untick optional ones)


def directory_scopes(*, with_groups: bool) -> list[str]:
    """The Directory API scopes the sync needs: users, and groups when scoped to groups."""
    return [USER_SCOPE, GROUP_SCOPE] if with_groups else [USER_SCOPE]


# Consent ---------------------------------------------------------------------------------


def new_pkce() -> tuple[str, str]:
    """A PKCE verifier (kept by us until the callback) and its S256 challenge (sent to
    Google): an intercepted authorization code is useless without the verifier."""
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-], RFC 7636 allows 43-128
    return verifier, _s256(verifier)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def consent_url(
    settings: Settings,
    *,
    state: str,
    code_challenge: str,
    redirect_uri: str,
    domain: str,
    with_groups: bool,
) -> str:
    """Where to send the administrator: Google's consent screen for our OAuth client.

    ``access_type=offline`` with ``prompt=consent`` makes Google return a refresh token
    even when this account consented before; ``hd`` only preselects the domain's accounts
    (the domain is enforced on the id_token in :func:`exchange_code`).
    """
    params = {
        "client_id": settings.google_client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(["openid", "email", *directory_scopes(with_groups=with_groups)]),
        "access_type": "offline",
        "prompt": "consent",
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "hd": domain,
    }
    return f"{settings.google_auth_uri}?{urlencode(params)}"


def exchange_code(
    settings: Settings,
    *,
    code: str,
    code_verifier: str,
    redirect_uri: str,
    expected_domain: str,
    http: httpx.Client | None = None,
) -> GoogleGrant:
    """Turn the callback's code into a refresh token, if Google vouches for the domain.

    Raises :class:`ConsentRefusedError` with code ``CONSENT_FAILED`` (the token endpoint
    refused the code, or answered without a refresh token or id_token),
    ``INVALID_ID_TOKEN`` (bad signature, audience, issuer or expiry), ``WRONG_DOMAIN``
    (the account is not of ``expected_domain``) or ``SCOPE_NOT_GRANTED`` (the
    administrator unticked the directory permission); :class:`DirectoryUnavailableError`
    when Google cannot be reached (the code may still be good: the admin can retry).
    """
    client = http or httpx.Client(timeout=HTTP_TIMEOUT_SECONDS)
    try:
        tokens = _redeem(settings, client, code, code_verifier, redirect_uri)
        claims = _verify_id_token(settings, client, tokens.get("id_token"))
    finally:
        if http is None:
            client.close()
    hosted_domain = str(claims.get("hd") or "").lower()
    if not hosted_domain or hosted_domain != expected_domain.strip().lower():
        shown = hosted_domain or "a personal Google account"
        raise ConsentRefusedError(
            "WRONG_DOMAIN",
            f"the consenting account belongs to {shown}, not to {expected_domain}",
        )
    granted = tuple(str(tokens.get("scope") or "").split())
    if USER_SCOPE not in granted:
        raise ConsentRefusedError(
            "SCOPE_NOT_GRANTED", "the permission to read the directory's users was not granted"
        )
    refresh_token = tokens.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise ConsentRefusedError(
            "CONSENT_FAILED", "Google returned no refresh token; consent again"
        )
    return GoogleGrant(
        refresh_token=refresh_token,
        email=str(claims.get("email") or "").lower(),
        hosted_domain=hosted_domain,
        scopes=granted,
    )


def _redeem(
    settings: Settings, client: httpx.Client, code: str, verifier: str, redirect_uri: str
) -> dict[str, Any]:
    secret = settings.google_client_secret
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "client_id": settings.google_client_id,
        "client_secret": secret.get_secret_value() if secret else "",
        "redirect_uri": redirect_uri,
    }
    try:
        response = client.post(settings.google_token_uri, data=form)
    except httpx.HTTPError as error:
        raise DirectoryUnavailableError(
            f"Google's token endpoint is unreachable: {error}"
        ) from None
    if response.status_code >= 500:
        raise DirectoryUnavailableError(
            f"Google's token endpoint answered {response.status_code}",
            retry_after=_seconds(response.headers.get("retry-after")),
        )
    body = _json_object(response)
    if response.status_code != 200:
        reason = body.get("error") or f"HTTP {response.status_code}"
        detail = body.get("error_description")
        raise ConsentRefusedError(
            "CONSENT_FAILED",
            f"Google refused the authorization code ({reason}{f': {detail}' if detail else ''})",
        )
    return body


def _verify_id_token(settings: Settings, client: httpx.Client, token: object) -> Mapping[str, Any]:
    """The id_token's claims once its signature (Google's published keys), audience (our
    client id), issuer and lifetime are checked."""
    if not isinstance(token, str) or not token:
        raise ConsentRefusedError("CONSENT_FAILED", "Google returned no id_token")
    certs = _fetch_signing_keys(settings, client)
    try:
        claims = jwt.decode(
            token,
            certs=certs,
            audience=settings.google_client_id,
            clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
        )
    except (ValueError, google.auth.exceptions.GoogleAuthError) as error:
        raise ConsentRefusedError(
            "INVALID_ID_TOKEN", f"the id_token is not valid: {error}"
        ) from None
    if claims.get("iss") not in ID_TOKEN_ISSUERS:
        raise ConsentRefusedError(
            "INVALID_ID_TOKEN", f"the id_token was issued by {claims.get('iss')!r}, not Google"
        )
    return claims


def _fetch_signing_keys(settings: Settings, client: httpx.Client) -> dict[str, str]:
    """Google's id_token keys (a JWK set) as PEM public keys by key id, the form
    google-auth's verifier takes."""
    try:
        response = client.get(settings.google_certs_uri)
    except httpx.HTTPError as error:
        raise DirectoryUnavailableError(f"Google's signing keys are unreachable: {error}") from None
    if response.status_code != 200:
        raise DirectoryUnavailableError(
            f"Google's signing keys answered {response.status_code}"
        )
    keys: dict[str, str] = {}
    for jwk in _json_object(response).get("keys") or []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue
        try:
            public = rsa.RSAPublicNumbers(_b64_int(jwk["e"]), _b64_int(jwk["n"])).public_key()
        except (KeyError, TypeError, ValueError):
            continue
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        keys[str(jwk.get("kid", ""))] = pem.decode("ascii")
    if not keys:
        raise DirectoryUnavailableError("Google published no usable signing key")
    return keys


def _b64_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


# Credentials -------------------------------------------------------------------------------


def oauth_credentials(
    settings: Settings, refresh_token: str, *, with_groups: bool | None = None
) -> google.oauth2.credentials.Credentials:
    """Credentials from a consent's refresh token; the first request refreshes them.

    By default the refresh asks for no particular scope, so the access token carries
    exactly what the administrator consented to (users, and groups when the consent
    included them). ``with_groups`` True or False asks for those scopes explicitly;
    Google refuses a refresh that asks for more than was consented (invalid_scope).
    """
    secret = settings.google_client_secret
    return google.oauth2.credentials.Credentials(
        token=None,
        refresh_token=refresh_token,
        client_id=settings.google_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        token_uri=settings.google_token_uri,
        scopes=None if with_groups is None else directory_scopes(with_groups=with_groups),
    )


def service_account_credentials(
    settings: Settings, key_info: Mapping[str, Any], subject: str, *, with_groups: bool = False
) -> service_account.Credentials:
    """Credentials of a service account acting as ``subject`` (an administrator of the
    domain) through domain-wide delegation.

    The assertion names its scopes, and Google refuses the token (unauthorized_client)
    unless the delegation covers all of them: ask for groups (``with_groups``) only when
    the sync is scoped to groups and the workspace delegated the group scope.

    The token endpoint is the platform's setting, not the key file's ``token_uri``:
    an uploaded file must not choose where our signed assertions are sent.
    """
    info = dict(key_info, token_uri=settings.google_token_uri)
    credentials = service_account.Credentials.from_service_account_info(
        info, scopes=directory_scopes(with_groups=with_groups)
    )
    return credentials.with_subject(subject)


def check_service_account_key(text: str | bytes) -> dict[str, Any]:
    """The uploaded key file as a dict, or ValueError saying what is wrong with it.

    Checked here so an administrator hears at upload time, not at the first sync, that
    they sent an OAuth client file, a truncated key or something else entirely.
    """
    try:
        info = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise ValueError(
            "the key file is not JSON; download a JSON key for the service account"
        ) from None
    if not isinstance(info, dict):
        raise ValueError("the key file is not a JSON object")
    if info.get("type") != "service_account":
        raise ValueError(
            f"the key file is of type {info.get('type')!r}, not 'service_account'; "
            "create a key for a service account"
        )
    for name in ("client_email", "private_key"):
        if not isinstance(info.get(name), str) or not info[name].strip():
            raise ValueError(f"the key file has no {name}")
    if "@" not in info["client_email"]:
        raise ValueError("the key file's client_email is not an e-mail address")
    try:
        key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("the key file's private_key is not a readable PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the key file's private_key is not an RSA key")
    return info
