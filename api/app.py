"""The Starlette application: GraphQL, health endpoints, CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from api.client_disconnect import ClientDisconnectQuiet
from api.console import console_first, console_routes
from api.downloads import download_routes
from api.forwarded import forwarded_middleware
from api.graphiql import graphiql_routes
from api.graphql import GraphQLApp
from api.health import healthz, readyz
from api.hooks import hook_routes
from api.media import media_routes
from api.metrics import metrics_routes
from api.oauth import oauth_routes
from api.observability import ObservabilityMiddleware
from api.pages import page_routes
from api.request_limits import RequestSizeLimit
from api.security_headers import SecurityHeaders
from core import passwords
from core.database import async_session_factory, make_async_engine
from core.settings import Settings, get_settings
from workers import context as worker_context
from workers.broker import install_broker

# The e-mailed links' paths, which the web console answers itself once it is built.
CONSOLE_SCREENS = frozenset({"/signup/complete", "/invitation/accept", "/login"})


def create_app(settings: Settings | None = None, *, instrumented: bool = True) -> Starlette:
    """The API. ``instrumented=False`` drops the request metrics, access log, operation
    metrics and cost analysis: only to measure their overhead."""
    settings = settings or get_settings()
    passwords.use_cost(settings.password_hash_cost)
    # Mutations dispatch background jobs after they commit.
    install_broker(settings.broker_url)
    worker_context.configure(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_async_engine(settings.resolved_database_url)
        app.state.engine = engine
        app.state.sessions = async_session_factory(engine)
        try:
            yield
        finally:
            await engine.dispose()
            metrics_endpoint.close()
            await graphql.budget.aclose()

    graphql = GraphQLApp(settings, instrumented=instrumented)
    metrics, metrics_endpoint = metrics_routes(settings)
    # Outermost: the client address (logs, throttles and audit use it), then the request id
    # and metrics, which cover everything, CORS refusals included.
    middleware = forwarded_middleware(settings)
    if instrumented:
        middleware.append(Middleware(ObservabilityMiddleware))
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_credentials=True,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Content-Type", "Authorization", "X-CSRF-Token", "X-Request-ID"],
                expose_headers=["X-Request-ID"],
            )
        )
    middleware.append(Middleware(SecurityHeaders,
                                 https=settings.public_base_url.startswith("https://")))
    # Inside CORS, so that a browser may read the refusal.
    middleware.append(Middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes,
                                 max_upload_bytes=settings.max_upload_request_bytes))
    # Innermost: a cancelled request ends here, before any layer above counts it a failure.
    middleware.append(Middleware(ClientDisconnectQuiet))
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *media_routes,
            *download_routes,
            *oauth_routes,
            *hook_routes,
            *metrics,
            *(graphiql_routes if settings.graphiql_enabled else []),
            *console_first(page_routes, CONSOLE_SCREENS, settings.console_dir),
            # Last: the web console answers every GET no route above takes.
            *console_routes(settings.console_dir),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
