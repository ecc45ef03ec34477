"""Secrets at rest: the one place that encrypts and decrypts.

Each configured secret key yields its own encryption key through HKDF, so the
operator manages one list of keys (``WEHOSTVOIP_SECRET_KEYS``, newest first).
Values are written with the newest key and read with any of them, which is how
keys are rotated: add a new key in front, re-save, then drop the old one.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


def derive_key(secret_key: bytes, purpose: str, length: int = 32) -> bytes:
    """A key for one purpose ("encryption", "signing", ...) derived from a secret key."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode()).derive(
        secret_key
    )


class SecretBox:
    """Encrypts text with the newest key; decrypts with any configured key."""

    def __init__(self, secret_keys: Sequence[bytes]) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is needed")
        self._fernet = MultiFernet(
            [Fernet(base64.urlsafe_b64encode(derive_key(key, "encryption"))) for key in secret_keys]
        )

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretDecryptionError("no configured key decrypts this value") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt a stored value with the newest key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretDecryptionError("no configured key decrypts this value") from None


_boxes: dict[tuple[bytes, ...], SecretBox] = {}


def secret_box(keys: Sequence[bytes]) -> SecretBox:
    """The box for these keys, built once (HKDF and Fernet set-up are not free)."""
    cache_key = tuple(keys)
    if cache_key not in _boxes:
        _boxes[cache_key] = SecretBox(keys)
    return _boxes[cache_key]
