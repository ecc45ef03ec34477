"""Platform operators: created from the command line, never over the API."""

from __future__ import annotations

from sqlmodel import Session, select

from core import validation
from core.errors import DomainError, ErrorCode
from core.models import Administrator, Role, RoleGrant, Scope
from core.passwords import check_strength, hash_password


def create_platform_operator(session: Session, *, email: str, password: str,
                             full_name: str) -> Administrator:
    """A new administrator holding the platform ADMIN role (or the role added to an account)."""
    email = validation.email_address(email, ("email",))
    administrator = session.exec(select(Administrator).where(Administrator.email == email)).first()
    if administrator is None:
        check_strength(password, email=email, full_name=full_name)
        administrator = Administrator(email=email, full_name=full_name.strip(),
                                      password_hash=hash_password(password))
        session.add(administrator)
        session.flush()
    already = session.exec(select(RoleGrant).where(
        RoleGrant.administrator_id == administrator.id, RoleGrant.scope == Scope.PLATFORM)).first()
    if already is not None:
        raise DomainError.single(ErrorCode.ALREADY_EXISTS,
                                 f"{email} is already a platform operator", "email")
    session.add(RoleGrant(administrator_id=administrator.id, scope=Scope.PLATFORM,
                          role=Role.ADMIN))
    return administrator
