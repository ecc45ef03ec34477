"""Logging in and out, personal API tokens, inviting and managing administrators."""

from __future__ import annotations

import uuid

import strawberry
from sqlmodel import Session

from core import administrators, api_tokens, audit, login, sessions
from core.errors import DomainError, ErrorCode
from core.models import Administrator, Invitation, Role
from schema.context import Info
from schema.core.cookies import clear_login_cookies, set_login_cookies
from schema.core.errors import UserError, single_error
from schema.core.mutations import Ref, act_as, run
from schema.identity.types import (
    AdministratorType,
    ApiTokenType,
    InvitationType,
    RoleEnum,
    RoleGrantType,
)


def _not_found(what: str, field: str = "id") -> list[UserError]:
    return single_error(ErrorCode.NOT_FOUND, f"{what} not found", field)


# Logging in and out -------------------------------------------------------------------------


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.type
class LoginPayload:
    administrator: AdministratorType | None = None
    csrf_token: str | None = strawberry.field(
        default=None, description="Send it as X-CSRF-Token with mutations made with the cookie."
    )
    errors: list[UserError]


@strawberry.type
class LogoutPayload:
    errors: list[UserError]


# API tokens ----------------------------------------------------------------------------------


@strawberry.input
class ApiTokenCreateInput:
    name: str
    expires_in_days: int | None = strawberry.field(
        default=None, description="1-366; null: until revoked."
    )


@strawberry.type
class ApiTokenCreatePayload:
    api_token: ApiTokenType | None = None
    token: str | None = strawberry.field(
        default=None, description="The secret, shown this once: send it as Authorization: Bearer."
    )
    errors: list[UserError]


@strawberry.input
class ApiTokenRevokeInput:
    id: strawberry.ID


@strawberry.type
class ApiTokenRevokePayload:
    api_token: ApiTokenType | None = None
    errors: list[UserError]


# Administrators ------------------------------------------------------------------------------


@strawberry.input
class AdministratorInviteInput:
    email: str
    isp: strawberry.ID | None = strawberry.field(
        default=None, description="Invite to administer this ISP..."
    )
    customer: strawberry.ID | None = strawberry.field(
        default=None, description="...or this customer (and each of its tenants)..."
    )
    tenant: strawberry.ID | None = strawberry.field(default=None, description="...or this tenant.")
    role: RoleEnum = Role.ADMIN  # type: ignore[valid-type]


@strawberry.type
class AdministratorInvitePayload:
    invitation: InvitationType | None = None
    errors: list[UserError]


@strawberry.input
class InvitationAcceptInput:
    token: str = strawberry.field(description="From the link in the invitation e-mail.")
    password: str | None = strawberry.field(
        default=None, description="Needed only when the address has no account yet."
    )
    full_name: str | None = None


@strawberry.type
class InvitationAcceptPayload:
    administrator: AdministratorType | None = None
    csrf_token: str | None = None
    errors: list[UserError]


@strawberry.input
class InvitationRevokeInput:
    id: strawberry.ID


@strawberry.type
class InvitationRevokePayload:
    invitation: InvitationType | None = None
    errors: list[UserError]


@strawberry.input
class RoleGrantUpdateInput:
    id: strawberry.ID
    role: RoleEnum  # type: ignore[valid-type]


@strawberry.type
class RoleGrantUpdatePayload:
    role_grant: RoleGrantType | None = None
    errors: list[UserError]


@strawberry.input
class RoleGrantRemoveInput:
    id: strawberry.ID


@strawberry.type
class RoleGrantRemovePayload:
    removed_id: strawberry.ID | None = None
    errors: list[UserError]


def _user_agent(info: Info) -> str:
    return info.context.request.headers.get("user-agent", "")


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(description="Log in with e-mail and password; sets the session cookie.")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        context = info.context
        address = context.viewer.client_address

        def work(session: Session) -> tuple[login.LoginOutcome, sessions.NewSession | None]:
            outcome = login.attempt_login(session, input.email, input.password, address)
            if outcome.administrator is None:
                return outcome, None
            new_session = sessions.start_session(
                session, context.settings, outcome.administrator.id,
                client_address=address, user_agent=_user_agent(info),
            )
            audit.record(session, context.viewer, action="administrator.login",
                         object_type="Administrator", object_id=outcome.administrator.id,
                         isp_id=None, actor_id=outcome.administrator.id,
                         actor_email=outcome.administrator.email)
            return outcome, new_session

        # Failures are committed too: they are what the throttle counts.
        result = await run(info, work, anonymous=True)
        if not result.ok or result.value is None:
            return LoginPayload(errors=result.errors)
        outcome, new_session = result.value
        if outcome.error is not None or new_session is None:
            return LoginPayload(errors=single_error(outcome.error.code, outcome.error.message))
        set_login_cookies(context, new_session)
        await act_as(info, outcome.administrator.id)
        return LoginPayload(administrator=AdministratorType.from_row(outcome.administrator),
                            csrf_token=new_session.csrf_token, errors=[])

    @strawberry.mutation(description="End this browser session.")
    async def logout(self, info: Info) -> LogoutPayload:
        context = info.context
        session_id = context.auth_session_id
        if session_id is not None:
            await run(info, lambda s: sessions.end_session(s, session_id), anonymous=True)
        clear_login_cookies(context)
        return LogoutPayload(errors=[])

    @strawberry.mutation(description="Create a personal API token; the secret is shown once.")
    async def api_token_create(self, info: Info, input: ApiTokenCreateInput
                               ) -> ApiTokenCreatePayload:
        viewer = info.context.viewer

        def work(session: Session) -> api_tokens.CreatedToken:
            created = api_tokens.create_token(session, viewer.administrator_id, name=input.name,
                                              expires_in_days=input.expires_in_days)
            audit.record(session, viewer, action="api_token.create", object_type="ApiToken",
                         object_id=created.token.id, isp_id=None,
                         changes={"name": created.token.name})
            return created

        outcome = await run(info, work)
        if not outcome.ok or outcome.value is None:
            return ApiTokenCreatePayload(errors=outcome.errors)
        return ApiTokenCreatePayload(api_token=ApiTokenType.from_row(outcome.value.token),
                                     token=outcome.value.secret, errors=[])

    @strawberry.mutation(description="Revoke one of your API tokens.")
    async def api_token_revoke(self, info: Info, input: ApiTokenRevokeInput
                               ) -> ApiTokenRevokePayload:
        viewer = info.context.viewer

        def work(session: Session, token_id: uuid.UUID) -> object:
            row = api_tokens.revoke_token(session, viewer.administrator_id, token_id)
            audit.record(session, viewer, action="api_token.revoke", object_type="ApiToken",
                         object_id=row.id, isp_id=None)
            return row

        outcome = await run(
            info, work,
            Ref(input.id, "ApiToken", "API token"))
        if not outcome.ok:
            return ApiTokenRevokePayload(errors=outcome.errors)
        return ApiTokenRevokePayload(api_token=ApiTokenType.from_row(outcome.value), errors=[])

    @strawberry.mutation(description="Invite someone by e-mail to administer an ISP, a "
                         "customer or a tenant.")
    async def administrator_invite(self, info: Info, input: AdministratorInviteInput
                                   ) -> AdministratorInvitePayload:
        context = info.context

        def work(session: Session, isp_id: uuid.UUID | None, customer_id: uuid.UUID | None,
                 tenant_id: uuid.UUID | None) -> Invitation:
            if [isp_id, customer_id, tenant_id].count(None) != 2:
                raise DomainError.single(
                    ErrorCode.REQUIRED, "name exactly one of an ISP, a customer or a tenant",
                    "isp")
            return administrators.invite(
                session, context.settings, context.viewer, email=input.email, isp_id=isp_id,
                customer_id=customer_id, tenant_id=tenant_id, role=input.role)

        outcome = await run(info, work, Ref(input.isp, "Isp", "ISP", "isp"),
                            Ref(input.customer, "Customer", "customer", "customer"),
                            Ref(input.tenant, "Tenant", "tenant", "tenant"))
        if not outcome.ok or outcome.value is None:
            return AdministratorInvitePayload(errors=outcome.errors)
        return AdministratorInvitePayload(invitation=InvitationType.from_row(outcome.value),
                                          errors=[])

    @strawberry.mutation(description="Accept an invitation (creating your account if needed) "
                         "and log in.")
    async def invitation_accept(self, info: Info, input: InvitationAcceptInput
                                ) -> InvitationAcceptPayload:
        context = info.context

        def work(session: Session) -> tuple[Administrator, sessions.NewSession]:
            accepted = administrators.accept_invitation(
                session, context.viewer, token=input.token, password=input.password,
                full_name=input.full_name)
            new_session = sessions.start_session(
                session, context.settings, accepted.administrator.id,
                client_address=context.viewer.client_address, user_agent=_user_agent(info))
            return accepted.administrator, new_session

        outcome = await run(info, work, anonymous=True)
        if not outcome.ok or outcome.value is None:
            return InvitationAcceptPayload(errors=outcome.errors)
        administrator, new_session = outcome.value
        set_login_cookies(context, new_session)
        await act_as(info, administrator.id)
        return InvitationAcceptPayload(administrator=AdministratorType.from_row(administrator),
                                       csrf_token=new_session.csrf_token, errors=[])

    @strawberry.mutation(description="Withdraw an invitation that was not accepted yet.")
    async def invitation_revoke(self, info: Info, input: InvitationRevokeInput
                                ) -> InvitationRevokePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, i: administrators.revoke_invitation(s, viewer, i),
            Ref(input.id, "Invitation", "invitation"))
        if not outcome.ok:
            return InvitationRevokePayload(errors=outcome.errors)
        return InvitationRevokePayload(invitation=InvitationType.from_row(outcome.value),
                                       errors=[])

    @strawberry.mutation(description="Change the role of an administrator at one scope.")
    async def role_grant_update(self, info: Info, input: RoleGrantUpdateInput
                                ) -> RoleGrantUpdatePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, i: administrators.change_role(s, viewer, i, input.role),
            Ref(input.id, "RoleGrant", "role grant"))
        if not outcome.ok:
            return RoleGrantUpdatePayload(errors=outcome.errors)
        return RoleGrantUpdatePayload(role_grant=RoleGrantType.from_row(outcome.value), errors=[])

    @strawberry.mutation(description="Remove an administrator's role at one scope "
                         "(an ISP keeps at least one ADMIN).")
    async def role_grant_remove(self, info: Info, input: RoleGrantRemoveInput
                                ) -> RoleGrantRemovePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, i: administrators.remove_grant(s, viewer, i),
            Ref(input.id, "RoleGrant", "role grant"))
        if not outcome.ok:
            return RoleGrantRemovePayload(errors=outcome.errors)
        return RoleGrantRemovePayload(removed_id=input.id, errors=[])
