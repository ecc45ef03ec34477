"""The /graphql endpoint: strawberry on Starlette, with who is asking in the context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from api.authentication import authenticate, authenticate_bearer, origin_allowed, request_id
from core.logs import LOG_CONTEXT
from core.settings import Settings
from schema import build_schema
from schema.context import Context


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=False,
            # Uploads arrive as multipart forms, which browsers send cross-site without a
            # preflight; the CSRF token check on mutations is what makes them safe.
            multipart_uploads_enabled=True,
            # Only the maintained protocol; the legacy graphql-ws one is off.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # Cross-site WebSocket hijacking: browsers may open sockets only from our origins.
            allowed_origins=sorted(settings.allowed_origins),
        )
        self.settings = settings

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        sessions = request.app.state.sessions
        rid = request_id(request)
        authentication = await authenticate(request, self.settings, sessions, rid)
        if isinstance(response, Response):
            response.headers["X-Request-ID"] = rid
        viewer = authentication.viewer
        if viewer.is_authenticated:
            isps = sorted(str(isp) for isp in viewer.member_isp_ids())
            LOG_CONTEXT.set({**LOG_CONTEXT.get(), "viewer_id": str(viewer.administrator_id),
                             **({"isp_id": ",".join(isps[:3])} if isps else {})})
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            settings=self.settings,
            sessions=sessions,
            viewer=authentication.viewer,
            auth_session_id=authentication.auth_session_id,
            csrf_token_valid=authentication.csrf_token_valid,
            origin_allowed=origin_allowed(request, self.settings),
            request_id=rid,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Refuse foreign origins; accept a bearer token in the connection_init payload."""
        if not context.origin_allowed:
            raise ConnectionRejectionError({"reason": "origin not allowed"})
        params = context.connection_params or {}
        given = str(params.get("Authorization") or params.get("authorization") or "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() == "bearer" and token and not context.viewer.is_authenticated:
            viewer = await authenticate_bearer(token.strip(), context.request, context.sessions,
                                               context.request_id)
            if viewer is None:
                raise ConnectionRejectionError({"reason": "invalid API token"})
            context.viewer = viewer
        return UNSET
