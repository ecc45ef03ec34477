"""The /graphql endpoint: strawberry on Starlette, with who is asking in the context.

Trusted documents: with ``settings.trusted_documents_file`` (a JSON object
mapping document ids to GraphQL documents), only those documents run. Clients
ask for one by id, ``{"documentId": "<id>", "variables": {...}}``, or the Apollo
way, ``{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}``;
the SHA-256 of a document's text (hex, optionally prefixed ``sha256:``) is
accepted as its id too. A document sent whole is run only if it is one of them,
character for character. Anything else is refused before it is parsed: HTTP 400
with a GraphQL error, ``PERSISTED_QUERY_NOT_FOUND`` (an unknown id) or
``TRUSTED_DOCUMENTS_ONLY`` (a document that is not registered). The same holds
on WebSockets, where ``documentId`` goes in the ``subscribe`` payload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from api import request_limits, token_refusal
from api.authentication import authenticate, authenticate_bearer, origin_allowed, request_id
from api.graphiql import graphiql_page
from core.logs import LOG_CONTEXT
from core.settings import ConfigurationError, Settings
from schema import build_schema
from schema.context import Context
from schema.core.budget import QueryBudget, make_budget

DOCUMENT_ID = "documentId"


class TrustedDocuments:
    """The registered documents, found by id or by the SHA-256 of their text."""

    def __init__(self, documents: Mapping[str, str]) -> None:
        self._by_id = dict(documents)
        self._by_hash = {hashlib.sha256(text.encode()).hexdigest(): text
                         for text in documents.values()}

    @classmethod
    def load(cls, path: Path) -> TrustedDocuments:
        try:
            documents = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigurationError(
                f"WEHOSTVOIP_TRUSTED_DOCUMENTS_FILE: cannot read {path}: {error}") from None
        if not isinstance(documents, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in documents.items()
        ):
            raise ConfigurationError(
                f"WEHOSTVOIP_TRUSTED_DOCUMENTS_FILE: {path} must map ids to GraphQL documents")
        return cls(documents)

    def find(self, document_id: object) -> str | None:
        if not isinstance(document_id, str):
            return None
        found = self._by_id.get(document_id)
        if found is None:
            found = self._by_hash.get(document_id.removeprefix("sha256:").lower())
        return found

    def admit(self, query: object, extensions: object) -> str | None:
        """The document to run; raises the GraphQL error that refuses it.

        None when the request names no document at all (strawberry answers that).
        """
        extensions = extensions if isinstance(extensions, dict) else {}
        persisted = extensions.get("persistedQuery")
        asked_id = extensions.get(DOCUMENT_ID)
        if asked_id is None and isinstance(persisted, dict):
            asked_id = persisted.get("sha256Hash")
        if asked_id is not None:
            found = self.find(asked_id)
            if found is not None:
                return found
            if query is None:
                raise _refusal("PERSISTED_QUERY_NOT_FOUND",
                               "No registered document has this id.")
        if query is None:
            return None
        if isinstance(query, str) and self._by_hash.get(
            hashlib.sha256(query.encode()).hexdigest()
        ) == query:
            return query
        raise _refusal("TRUSTED_DOCUMENTS_ONLY",
                       "Only registered documents run here; send their id as documentId.")


def _refusal(code: str, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _with_document_id(data: dict[str, Any]) -> dict[str, Any]:
    """Strawberry keeps only query, variables, operationName and extensions: the id rides in
    the extensions."""
    if DOCUMENT_ID not in data:
        return data
    extensions = data.get("extensions")
    extensions = extensions if isinstance(extensions, dict) else {}
    return {**data, "extensions": {**extensions, DOCUMENT_ID: data[DOCUMENT_ID]}}


class _WebSocketHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        trusted: TrustedDocuments | None = getattr(self.view, "trusted_documents", None)
        payload: Any = message.get("payload")
        if trusted is not None and self.connection_acknowledged and isinstance(payload, dict):
            payload = _with_document_id(payload)
            try:
                query = trusted.admit(payload.get("query"), payload.get("extensions"))
            except GraphQLError as error:
                await self.send_message({"id": message["id"], "type": "error",
                                         "payload": [error.formatted]})
                return
            if query is not None:
                message = {**message, "payload": {**payload, "query": query}}
        await super().handle_subscribe(message)


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = _WebSocketHandler

    def __init__(self, settings: Settings, *, budget: QueryBudget | None = None,
                 instrumented: bool = True) -> None:
        # The viewers' query budgets; tests reach them here to turn their clock.
        self.budget = budget or make_budget(settings)
        self.trusted_documents = (
            TrustedDocuments.load(settings.trusted_documents_file)
            if settings.trusted_documents_file else None
        )
        super().__init__(
            build_schema(settings, budget=self.budget, instrumented=instrumented),
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

    def decode_json(self, data: str | bytes) -> object:
        return request_limits.decode_json(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our page: assets served by the API itself, and the CSRF header sent from the cookie.
        return HTMLResponse(graphiql_page())

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        if self.trusted_documents is not None and isinstance(parsed, dict):
            return _with_document_id(parsed)
        return parsed

    async def execute_operation(
        self, request: Request, request_adapter: Any,
        request_data: GraphQLRequestData | list[GraphQLRequestData], context: Context,
        root_value: None, sub_response: Response,
    ) -> Any:
        if context.bearer_refused:
            return token_refusal.refuse(sub_response)
        if self.trusted_documents is not None and isinstance(request_data, GraphQLRequestData):
            try:
                query = self.trusted_documents.admit(request_data.query, request_data.extensions)
            except GraphQLError as error:
                sub_response.status_code = 400
                return ExecutionResult(data=None, errors=[error])
            request_data.query = query
        return await super().execute_operation(
            request=request, request_adapter=request_adapter, request_data=request_data,
            context=context, root_value=root_value, sub_response=sub_response,
        )

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
            # Who asked, on every log record of the rest of this request.
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
            bearer_refused=authentication.bearer_refused,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Refuse foreign origins; accept a bearer token in the connection_init payload."""
        if not context.origin_allowed:
            raise ConnectionRejectionError({"reason": "origin not allowed"})
        if context.bearer_refused:
            raise ConnectionRejectionError({"reason": "invalid API token"})
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
