"""Dataloaders of administrators' own relations."""

from __future__ import annotations

import uuid

from strawberry.dataloader import DataLoader

from core.models import RoleGrant
from schema.context import Context
from schema.core.loaders import children_by_parent


def grants_by_administrator(context: Context) -> DataLoader[uuid.UUID, list[RoleGrant]]:
    return children_by_parent(context, RoleGrant.administrator_id, RoleGrant.created_at,
                              RoleGrant.id)
