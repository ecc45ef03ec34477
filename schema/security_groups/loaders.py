"""Dataloaders of security groups and the destinations they open."""

from __future__ import annotations

import uuid

from strawberry.dataloader import DataLoader

from core.models import SecurityGroup, SecurityGroupDestination
from schema.context import Context
from schema.core.loaders import children_by_parent, rows_by_id


def security_group_by_id(context: Context) -> DataLoader[uuid.UUID, SecurityGroup | None]:
    return rows_by_id(context, SecurityGroup)


def destinations_by_group(context: Context
                          ) -> DataLoader[uuid.UUID, list[SecurityGroupDestination]]:
    return children_by_parent(context, SecurityGroupDestination.security_group_id,
                              SecurityGroupDestination.id)
