"""Checking an administrator's password, with throttling of failures."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from core import throttle
from core.errors import ErrorCode, FieldError
from core.models import Administrator, utcnow
from core.passwords import hash_password, needs_rehash, verify_password


@dataclass(frozen=True)
class LoginOutcome:
    administrator: Administrator | None
    error: FieldError | None


WRONG_CREDENTIALS = FieldError(
    code=ErrorCode.INVALID_CREDENTIALS, message="wrong e-mail address or password"
)


def attempt_login(session: Session, email: str, password: str, client_address: str) -> LoginOutcome:
    """Check the password; failures are recorded, not raised, so the caller commits them.

    Raises DomainError(TOO_MANY_ATTEMPTS) while the account or address is locked.
    The answer for an unknown e-mail and for a wrong password is the same,
    and costs the same time.
    """
    email = email.strip().lower()
    keys = [throttle.account_key(email), throttle.address_key(client_address or "unknown")]
    throttle.ensure_allowed(session, keys)
    administrator = session.exec(select(Administrator).where(Administrator.email == email)).first()
    password_hash = administrator.password_hash if administrator else None
    verified = verify_password(password_hash, password)
    if not verified or administrator is None or not administrator.is_active:
        throttle.record_failure(session, keys)
        return LoginOutcome(administrator=None, error=WRONG_CREDENTIALS)
    throttle.record_success(session, email)
    assert password_hash is not None  # verify_password accepted it
    if needs_rehash(password_hash):
        administrator.password_hash = hash_password(password)
    administrator.last_login_at = utcnow()
    session.add(administrator)
    return LoginOutcome(administrator=administrator, error=None)
