"""Administrator passwords: argon2id hashes and a minimum strength rule.

The rule follows NIST SP 800-63B: length and a block list of the most common
choices, no composition rules (they make passwords worse, not stronger).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import DomainError, ErrorCode

MIN_LENGTH = 12
MAX_LENGTH = 256

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# Passwords of 12+ characters that still top every leaked-password list.
_COMMON = frozenset(
    {
        "123456789012", "1234567890123", "12345678901234", "qwertyuiopas", "qwerty123456",
        "password1234", "password12345", "passwordpassword", "iloveyou1234", "111111111111",
        "000000000000", "aaaaaaaaaaaa", "abcdefghijkl", "abc123456789", "adminadmin12",
        "administrator", "letmein12345", "welcome12345", "changeme1234", "qwertyqwerty",
        "1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsxcde3", "passw0rd1234", "p@ssw0rd1234",
    }
)

# A hash computed once, verified against when the account does not exist, so
# that a wrong e-mail costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not the password of anyone at all")


def check_strength(password: str, *, email: str = "", full_name: str = "",
                   field: tuple[str, ...] = ("password",)) -> None:
    """Raise WEAK_PASSWORD (or INVALID) when the password must not be used."""
    def weak(message: str) -> DomainError:
        return DomainError.single(ErrorCode.WEAK_PASSWORD, message, *field)

    if len(password) < MIN_LENGTH:
        raise weak(f"use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise DomainError.single(
            ErrorCode.INVALID, f"use at most {MAX_LENGTH} characters", *field
        )
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        raise weak("this password is too common or too repetitive")
    personal = [email.split("@")[0].lower(), *full_name.lower().split()]
    if any(len(part) >= 4 and part in lowered for part in personal):
        raise weak("do not build the password from your name or e-mail address")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; spends the same time when there is no hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
