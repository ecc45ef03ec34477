"""The login cookies: the session id (HttpOnly) and the CSRF token (readable by the app)."""

from __future__ import annotations

from core.sessions import NewSession
from schema.context import Context

SESSION_COOKIE = "whv_session"
CSRF_COOKIE = "whv_csrf"


def set_login_cookies(context: Context, new_session: NewSession) -> None:
    if context.response is None:
        return
    max_age = context.settings.session_absolute_hours * 3600
    secure = context.settings.cookie_secure
    context.response.set_cookie(SESSION_COOKIE, new_session.token, max_age=max_age,
                                httponly=True, secure=secure, samesite="lax", path="/")
    # Readable by the web app so that it can echo it in the X-CSRF-Token header;
    # another site can neither read it nor set the header.
    context.response.set_cookie(CSRF_COOKIE, new_session.csrf_token, max_age=max_age,
                                httponly=False, secure=secure, samesite="lax", path="/")


def clear_login_cookies(context: Context) -> None:
    if context.response is None:
        return
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        context.response.delete_cookie(name, path="/", secure=context.settings.cookie_secure,
                                       samesite="lax")
