"""ISP sign-up: an e-mailed single-use link, then the ISP's details.

Step one answers the same whether or not the address already has an account
(nobody can probe which addresses are customers); what differs is only the
e-mail that the owner of the address receives.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import audit, logos, rate_limits, validation
from core.errors import DomainError, ErrorCode, ErrorCollector
from core.mail import queue_email
from core.messages import already_registered, signup_link
from core.models import Administrator, Isp, Role, RoleGrant, Scope, SignupRequest, utcnow
from core.passwords import check_strength, hash_password
from core.settings import Settings
from core.tokens import digest, new_token
from core.viewer import ANONYMOUS, Viewer

log = logging.getLogger(__name__)

# A second request for the same address within this time sends nothing new.
RESEND_AFTER = dt.timedelta(minutes=1)
# At most so many sign-up e-mails (links or "you already have an account") per hour to one
# address, and on behalf of one client address: nobody can use sign-up to flood a mailbox
# or to send mail from the platform at will. Beyond them the answer is the same, and
# nothing is sent.
MAILS_PER_ADDRESS = 3
MAILS_PER_CLIENT = 10
MAIL_WINDOW = dt.timedelta(hours=1)


@dataclass
class IspDetails:
    name: str
    namespace_label: str
    currency: str
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    theme_primary_color: str | None = None
    theme_secondary_color: str | None = None


@dataclass
class SignupCompletion:
    token: str
    password: str
    full_name: str
    isp: IspDetails
    logo: bytes | None = None
    client_viewer: Viewer = field(default=ANONYMOUS)


@dataclass(frozen=True)
class SignupResult:
    administrator: Administrator
    isp: Isp


def _may_send(session: Session, email: str, client_address: str) -> bool:
    if client_address and not rate_limits.take(session, f"signup-client:{client_address}",
                                                limit=MAILS_PER_CLIENT, per=MAIL_WINDOW):
        log.info("sign-up e-mail not sent: client %s is over its limit", client_address)
        return False
    if not rate_limits.take(session, f"signup-mail:{email}", limit=MAILS_PER_ADDRESS,
                            per=MAIL_WINDOW):
        log.info("sign-up e-mail not sent: the address is over its limit")
        return False
    return True


def request_signup(session: Session, settings: Settings, email: str,
                   client_address: str = "") -> None:
    """Send a sign-up link, or, for a known address, a hint to log in instead (both within
    the limits per address and per client)."""
    email = validation.email_address(email, ("email",))
    now = utcnow()
    if session.exec(select(Administrator).where(Administrator.email == email)).first():
        if _may_send(session, email, client_address):
            message = already_registered(f"{settings.links_base_url}/login")
            queue_email(session, to=email, subject=message.subject, body=message.body)
        return
    recent = session.exec(
        select(SignupRequest).where(
            SignupRequest.email == email,
            col(SignupRequest.used_at).is_(None),
            SignupRequest.created_at > now - RESEND_AFTER,
        )
    ).first()
    if recent is not None or not _may_send(session, email, client_address):
        return
    token = new_token()
    session.add(
        SignupRequest(
            email=email,
            token_hash=digest(token),
            expires_at=now + dt.timedelta(hours=settings.signup_link_hours),
        )
    )
    link = f"{settings.links_base_url}/signup/complete?token={token}"
    message = signup_link(link, settings.signup_link_hours)
    queue_email(session, to=email, subject=message.subject, body=message.body)


def _redeemable(session: Session, token: str) -> SignupRequest:
    request = session.exec(
        select(SignupRequest).where(SignupRequest.token_hash == digest(token))
    ).first()
    if request is None or request.used_at is not None:
        raise DomainError.single(
            ErrorCode.INVALID_TOKEN, "this sign-up link is not valid or was already used", "token"
        )
    if utcnow() >= request.expires_at:
        raise DomainError.single(
            ErrorCode.EXPIRED_TOKEN, "this sign-up link has expired; ask for a new one", "token"
        )
    return request


def _checked_isp(details: IspDetails, errors: ErrorCollector) -> dict[str, Any]:
    """The ISP's columns, validated and normalised; mistakes go to ``errors``."""
    v, at = validation, ("isp",)
    values: dict[str, Any] = {
        "name": errors.check(v.bounded_text, details.name, (*at, "name"), max_length=200,
                             required=True),
        "namespace_label": errors.check(v.namespace_label, details.namespace_label,
                                        (*at, "namespace_label")),
        "currency": errors.check(v.currency_code, details.currency, (*at, "currency")),
        "country": errors.check(v.country_code, details.country, (*at, "country")),
        "theme_primary_color": errors.check(v.hex_colour, details.theme_primary_color,
                                            (*at, "theme_primary_color")),
        "theme_secondary_color": errors.check(v.hex_colour, details.theme_secondary_color,
                                              (*at, "theme_secondary_color")),
        "contact_name": errors.check(v.bounded_text, details.contact_name,
                                     (*at, "contact_name"), max_length=200),
    }
    for name, limit in (("address_line1", 200), ("address_line2", 200), ("city", 100),
                        ("region", 100), ("postal_code", 20)):
        values[name] = errors.check(v.bounded_text, getattr(details, name), (*at, name),
                                    max_length=limit)
    values["contact_email"] = (
        errors.check(v.email_address, details.contact_email, (*at, "contact_email"))
        if details.contact_email.strip() else ""
    )
    values["contact_phone"] = (
        errors.check(v.e164_phone, details.contact_phone, (*at, "contact_phone"))
        if details.contact_phone.strip() else ""
    )
    return values


def complete_signup(session: Session, settings: Settings, completion: SignupCompletion
                    ) -> SignupResult:
    """Create the ISP and its first administrator from a valid sign-up link."""
    request = _redeemable(session, completion.token)
    errors = ErrorCollector()
    full_name = errors.check(validation.bounded_text, completion.full_name, ("full_name",),
                             max_length=200, required=True)
    errors.check(check_strength, completion.password, email=request.email,
                 full_name=completion.full_name)
    isp_values = _checked_isp(completion.isp, errors)
    logo_type = None
    if completion.logo is not None:
        logo_type = errors.check(logos.check_logo, completion.logo,
                                 max_bytes=settings.logo_max_bytes)
    label = isp_values["namespace_label"]
    if label and session.exec(select(Isp.id).where(Isp.namespace_label == label)).first():
        errors.add(ErrorCode.ALREADY_EXISTS, f"the namespace {label!r} is taken",
                   "isp", "namespace_label")
    if session.exec(select(Administrator.id).where(Administrator.email == request.email)).first():
        errors.add(ErrorCode.ALREADY_EXISTS, "this e-mail address already has an account",
                   "token")
    errors.raise_if_any()
    assert full_name is not None

    administrator = Administrator(email=request.email, full_name=full_name,
                                  password_hash=hash_password(completion.password))
    isp = Isp(**isp_values)
    session.add_all([administrator, isp])
    try:
        session.flush()
    except IntegrityError:
        # Another sign-up took the namespace between our check and our insert.
        raise DomainError.single(ErrorCode.ALREADY_EXISTS, f"the namespace {label!r} is taken",
                                 "isp", "namespace_label") from None
    session.add(RoleGrant(administrator_id=administrator.id, scope=Scope.ISP, role=Role.ADMIN,
                          isp_id=isp.id))
    if completion.logo is not None and logo_type is not None:
        logos.save_logo(session, isp.id, logo_type, completion.logo)
    request.used_at = utcnow()
    session.add(request)
    audit.record(session, completion.client_viewer, action="isp.sign_up", object_type="Isp",
                 object_id=isp.id, isp_id=isp.id, changes=isp_values | {"full_name": full_name},
                 actor_id=administrator.id, actor_email=administrator.email)
    return SignupResult(administrator=administrator, isp=isp)
