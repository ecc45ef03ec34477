"""Whose address a request comes from, behind a load balancer or not.

The client address decides the per-address login throttle, the audit log's
"from where" and the logs. ``X-Forwarded-For`` is set by whoever sends the
request, so it is believed only from the proxies named in
``WEHOSTVOIP_TRUSTED_PROXIES`` (addresses or CIDR networks), and then only the
part they added: the rightmost address that is not one of them. Without the
setting (the default) nobody is trusted, loopback included: a local client
cannot pick the address it is counted under.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from core.settings import Settings


def forwarded_middleware(settings: Settings) -> list[Middleware]:
    """The middleware that reads the trusted proxies' headers (none when none is trusted)."""
    if not settings.trusted_proxies:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))]


__all__ = ["forwarded_middleware"]
