"""What every resolver gets: who is asking, the settings and a way to the database."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from core.settings import Settings
from core.viewer import ANONYMOUS, Viewer


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | None
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    viewer: Viewer = ANONYMOUS
    # The browser session the request came with, when it came with one.
    auth_session_id: uuid.UUID | None = None
    # Whether the request echoed the session's CSRF token.
    csrf_token_valid: bool = False
    # Whether the request's Origin (if any) is one of ours.
    origin_allowed: bool = True
    request_id: str = ""
    # A bearer token came with the request and was refused (the request is answered 401).
    bearer_refused: bool = False
    # The graphql-transport-ws connection_init payload, on WebSockets.
    connection_params: dict[str, Any] | None = None
    # Per-request dataloaders, created on first use.
    loaders: dict[str, Any] = field(default_factory=dict)

    def loader(self, name: str, factory: Callable[[], Any]) -> Any:
        if name not in self.loaders:
            self.loaders[name] = factory()
        return self.loaders[name]


Info = StrawberryInfo[Context, None]
