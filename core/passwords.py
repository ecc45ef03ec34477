"""Administrator passwords: argon2id hashes and a minimum strength rule.

The rule follows NIST SP 800-63B: length and a block list of the most common
choices, no composition rules (they make passwords worse, not stronger).
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import DomainError, ErrorCode

MIN_LENGTH = 12
MAX_LENGTH = 256


class PasswordHashCost(StrEnum):
    """How much work an argon2id hash costs.

    STANDARD is the library's recommended profile (about 64 MiB and a tenth of a
    second per hash): the only one for real accounts. MINIMAL costs almost
    nothing and exists for test suites, which sign up thousands of accounts; the
    settings refuse it in production. Hashes record their parameters, so either
    profile verifies the other's hashes.
    """

    STANDARD = "standard"
    MINIMAL = "minimal"


_HASHERS = {
    PasswordHashCost.STANDARD: PasswordHasher(),
    PasswordHashCost.MINIMAL: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}
_hasher = _HASHERS[PasswordHashCost.STANDARD]

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


def use_cost(cost: PasswordHashCost) -> None:
    """Hash new passwords with ``cost`` in this process (from WEHOSTVOIP_PASSWORD_HASH_COST)."""
    global _hasher
    _hasher = _HASHERS[PasswordHashCost(cost)]


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    # Verified against when the account does not exist, so that a wrong e-mail
    # costs as much time as a wrong password.
    return hasher.hash("not the password of anyone at all")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; spends the same time when there is no hash."""
    try:
        return (_hasher.verify(password_hash or _dummy_hash(_hasher), password)
                and bool(password_hash))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
