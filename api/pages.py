"""The small pages that e-mailed links open, until a web console serves them.

Sign-up, invitation and "you already have an account" e-mails link to
``/signup/complete?token=…``, ``/invitation/accept?token=…`` and ``/login`` on
the links' base URL (``WEHOSTVOIP_APP_BASE_URL``, by default the API itself).
Each page here is one accessible form (labels, hints tied to their fields,
errors announced and placed on the field they concern) that completes its step
by posting the same GraphQL mutation a console would send: the rules, the
checks and the errors are the API's own, nothing is decided here. On success
the API has set the session cookie, so the person can go on in GraphiQL.

The pages' script and style are files of this package (``pages_assets/``): no
inline script, nothing from another site.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from core.passwords import MIN_LENGTH
from core.settings import Settings

ASSETS = Path(__file__).with_name("pages_assets")
ASSET_PREFIX = "/pages"

PASSWORD_HINT = (f"At least {MIN_LENGTH} characters. Very common passwords, and ones made "
                 "from your name or e-mail address, are refused.")


@dataclass(frozen=True)
class Field:
    name: str  # the input's path in the mutation's input, dotted: isp.namespaceLabel
    label: str
    kind: str = "text"
    required: bool = True
    hint: str = ""
    autocomplete: str = ""
    value: str = ""


@dataclass(frozen=True)
class Step:
    title: str
    intro: str
    document: str  # the GraphQL mutation; its variable is $input
    root: str  # the mutation field whose payload carries `errors`
    submit: str
    done: str  # said when the mutation succeeded
    fields: tuple[Field, ...]
    needs_token: bool = True


_ERRORS = "errors { field code message }"

SIGNUP = Step(
    title="Complete your ISP's sign-up",
    intro="Choose your password and tell us about your company. You can change the "
          "details later.",
    document="mutation ($input: IspSignUpCompleteInput!) { ispSignUpComplete(input: $input) "
             "{ isp { name namespaceDomain } " + _ERRORS + " } }",
    root="ispSignUpComplete",
    submit="Sign up",
    done="Your ISP is signed up and you are logged in.",
    fields=(
        Field("fullName", "Your full name", autocomplete="name"),
        Field("password", "Password", kind="password", hint=PASSWORD_HINT,
              autocomplete="new-password"),
        Field("isp.name", "Company name", autocomplete="organization"),
        Field("isp.namespaceLabel", "Namespace label",
              hint="Lower-case letters, digits and hyphens; your tenants can live under "
                   "<label>.{base_domain}."),
        Field("isp.currency", "Currency", hint="ISO 4217 code, for example USD or EUR.",
              value="USD"),
    ),
)

INVITATION = Step(
    title="Accept your invitation",
    intro="If you have no account here yet, choose a password and give your name; "
          "if you have one, leave both empty.",
    document="mutation ($input: InvitationAcceptInput!) { invitationAccept(input: $input) "
             "{ administrator { email } " + _ERRORS + " } }",
    root="invitationAccept",
    submit="Accept the invitation",
    done="The invitation is accepted and you are logged in.",
    fields=(
        Field("fullName", "Your full name", required=False, autocomplete="name"),
        Field("password", "Password", kind="password", required=False, hint=PASSWORD_HINT,
              autocomplete="new-password"),
    ),
)

LOGIN = Step(
    title="Log in",
    intro="Log in with your e-mail address and password.",
    document="mutation ($input: LoginInput!) { login(input: $input) "
             "{ administrator { email } " + _ERRORS + " } }",
    root="login",
    submit="Log in",
    done="You are logged in.",
    fields=(
        Field("email", "E-mail address", kind="email", autocomplete="username"),
        Field("password", "Password", kind="password", autocomplete="current-password"),
    ),
    needs_token=False,
)


def _field_html(field: Field, settings: Settings) -> str:
    ident = "f-" + field.name.replace(".", "-")
    described = f"{ident}-error" + (f" {ident}-hint" if field.hint else "")
    text = field.hint.replace("{base_domain}", settings.base_domain)
    hint = f'<p class="hint" id="{ident}-hint">{escape(text)}</p>' if field.hint else ""
    optional = "" if field.required else ' <span class="optional">(optional)</span>'
    attributes = [f'id="{ident}"', f'name="{escape(field.name)}"', f'type="{field.kind}"',
                  f'value="{escape(field.value)}"', f'aria-describedby="{described}"']
    if field.required:
        attributes.append("required")
    if field.autocomplete:
        attributes.append(f'autocomplete="{field.autocomplete}"')
    return (
        f'<div class="field"><label for="{ident}">{escape(field.label)}{optional}</label>'
        f'{hint}<input {" ".join(attributes)}>'
        f'<p class="error" id="{ident}-error" data-error-for="{escape(field.name)}"></p></div>'
    )


def render(step: Step, token: str | None, settings: Settings) -> str:
    """The page of ``step``; ``token`` comes from the e-mailed link."""
    if step.needs_token and not token:
        body = ('<p role="alert">This link has no token. Open the link from your e-mail '
                "as it is, or ask for a new one.</p>")
    else:
        hidden = (f'<input type="hidden" name="token" value="{escape(token or "")}">'
                  if step.needs_token else "")
        after = ('<p><a href="/graphql">Go on in GraphiQL</a> (the API\'s own console).</p>'
                 if settings.graphiql_enabled else "<p>You can close this page.</p>")
        body = (
            f'<form method="post" action="/graphql" novalidate'
            f' data-document="{escape(step.document)}" data-root="{step.root}"'
            f' data-done="{escape(step.done)}">'
            f"{hidden}{''.join(_field_html(field, settings) for field in step.fields)}"
            f'<p class="error" id="form-error" data-error-for=""></p>'
            f'<button type="submit">{escape(step.submit)}</button>'
            f"</form>"
            f'<div id="done" hidden><p>{escape(step.done)}</p>{after}</div>'
            f'<p id="status" role="status" aria-live="polite"></p>'
            "<noscript><p>This page needs JavaScript to send the form.</p></noscript>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(step.title)} · WeHostVoIP</title>"
        f'<link rel="stylesheet" href="{ASSET_PREFIX}/pages.css">'
        f'<script src="{ASSET_PREFIX}/step.js" defer></script></head>'
        f'<body><main><h1>{escape(step.title)}</h1><p>{escape(step.intro)}</p>{body}</main>'
        "</body></html>"
    )


def _page(step: Step) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        response = HTMLResponse(render(step, request.query_params.get("token"),
                                       request.app.state.settings))
        # The token is in the URL: keep it out of other sites' Referer headers and caches.
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    return endpoint


_ASSET_TYPES = {"step.js": "text/javascript; charset=utf-8", "pages.css": "text/css; charset=utf-8"}


async def page_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _ASSET_TYPES:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(ASSETS / name, media_type=_ASSET_TYPES[name],
                        headers={"Cache-Control": "no-cache"})


page_routes = [
    Route("/signup/complete", _page(SIGNUP), methods=["GET"]),
    Route("/invitation/accept", _page(INVITATION), methods=["GET"]),
    Route("/login", _page(LOGIN), methods=["GET"]),
    Route(ASSET_PREFIX + "/{name}", page_asset, methods=["GET", "HEAD"]),
]
