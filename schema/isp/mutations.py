"""Creating ISPs: the two steps of sign-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlmodel import Session
from strawberry.file_uploads import Upload

from core import sessions
from core.errors import DomainError
from core.signup import (
    IspDetails,
    SignupCompletion,
    SignupResult,
    complete_signup,
    request_signup,
)
from schema.context import Info
from schema.core.contact import ContactInput, PostalAddressInput
from schema.core.cookies import set_login_cookies
from schema.core.errors import FieldPaths, UserError, user_errors
from schema.core.mutations import act_as, run
from schema.core.node import node_of
from schema.core.uploads import read_upload
from schema.isp.types import IspType

if TYPE_CHECKING:
    from schema.identity.types import AdministratorType

LazyAdministrator = Annotated["AdministratorType", strawberry.lazy("schema.identity.types")]


@strawberry.input
class IspSignUpInput:
    email: str


@strawberry.type
class IspSignUpPayload:
    errors: list[UserError]


@strawberry.input
class ThemeInput:
    primary_color: str | None = strawberry.field(default=None, description="#RRGGBB")
    secondary_color: str | None = strawberry.field(default=None, description="#RRGGBB")


@strawberry.input
class IspDetailsInput:
    name: str
    namespace_label: str = strawberry.field(
        description="Becomes the namespace domain <label>.<platform base domain>."
    )
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD.")
    address: PostalAddressInput | None = None
    contact: ContactInput | None = None
    theme: ThemeInput | None = None


@strawberry.input
class IspSignUpCompleteInput:
    token: str = strawberry.field(description="From the link in the sign-up e-mail.")
    password: str
    full_name: str
    isp: IspDetailsInput
    logo: Upload | None = strawberry.field(
        default=None, description="PNG or JPEG (multipart upload); SVG is refused."
    )


@strawberry.type
class IspSignUpCompletePayload:
    isp: IspType | None = None
    administrator: LazyAdministrator | None = None
    csrf_token: str | None = strawberry.field(
        default=None, description="Send it as X-CSRF-Token with mutations made with the cookie."
    )
    errors: list[UserError]


# Where the input nests what the ISP row keeps flat.
DETAIL_PATHS: FieldPaths = {
    ("isp", core): ("isp", group, field)
    for group, fields in {
        "address": {"address_line1": "line1", "address_line2": "line2", "city": "city",
                    "region": "region", "postal_code": "postal_code", "country": "country"},
        "contact": {"contact_name": "name", "contact_email": "email", "contact_phone": "phone"},
        "theme": {"theme_primary_color": "primary_color",
                  "theme_secondary_color": "secondary_color"},
    }.items()
    for core, field in fields.items()
}


def _details(given: IspDetailsInput) -> IspDetails:
    address = given.address or PostalAddressInput()
    contact = given.contact or ContactInput()
    theme = given.theme or ThemeInput()
    return IspDetails(
        name=given.name, namespace_label=given.namespace_label, currency=given.currency,
        address_line1=address.line1, address_line2=address.line2, city=address.city,
        region=address.region, postal_code=address.postal_code, country=address.country,
        contact_name=contact.name, contact_email=contact.email, contact_phone=contact.phone,
        theme_primary_color=theme.primary_color, theme_secondary_color=theme.secondary_color,
    )


@strawberry.type
class IspMutation:
    @strawberry.mutation(
        description="Step 1 of sign-up: e-mails a single-use link. The answer is the same "
        "whether or not the address is known."
    )
    async def isp_sign_up(self, info: Info, input: IspSignUpInput) -> IspSignUpPayload:
        settings, client = info.context.settings, info.context.viewer.client_address
        outcome = await run(info, lambda s: request_signup(s, settings, input.email, client),
                            anonymous=True)
        return IspSignUpPayload(errors=outcome.errors)

    @strawberry.mutation(
        description="Step 2 of sign-up: creates the ISP and its first administrator, "
        "and logs them in."
    )
    async def isp_sign_up_complete(
        self, info: Info, input: IspSignUpCompleteInput
    ) -> IspSignUpCompletePayload:
        context = info.context
        logo = None
        if input.logo is not None:
            try:
                logo = await read_upload(input.logo, max_bytes=context.settings.logo_max_bytes,
                                         field="logo")
            except DomainError as error:
                return IspSignUpCompletePayload(errors=user_errors(error))
        completion = SignupCompletion(token=input.token, password=input.password,
                                      full_name=input.full_name, isp=_details(input.isp),
                                      logo=logo, client_viewer=context.viewer)

        def work(session: Session) -> tuple[SignupResult, sessions.NewSession]:
            result = complete_signup(session, context.settings, completion)
            new_session = sessions.start_session(
                session, context.settings, result.administrator.id,
                client_address=context.viewer.client_address,
                user_agent=context.request.headers.get("user-agent", ""),
            )
            return result, new_session

        outcome = await run(info, work, paths=DETAIL_PATHS, anonymous=True)
        if not outcome.ok or outcome.value is None:
            return IspSignUpCompletePayload(errors=outcome.errors)
        result, new_session = outcome.value
        set_login_cookies(context, new_session)
        await act_as(info, result.administrator.id)
        return IspSignUpCompletePayload(
            isp=IspType.from_row(result.isp),
            administrator=node_of("Administrator", result.administrator),
            csrf_token=new_session.csrf_token,
            errors=[],
        )
