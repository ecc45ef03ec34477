"""Random bearer secrets (links, sessions, API tokens) and their stored digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token(prefix: str = "") -> str:
    """A fresh unguessable token (256 bits), URL-safe."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """What is stored instead of the token: its SHA-256, in hex.

    A fast hash is enough because the token itself has 256 bits of entropy;
    it cannot be guessed from its digest.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def same_digest(token: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(token), stored_digest)
