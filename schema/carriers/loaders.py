"""Dataloaders of carriers and gateways."""

from __future__ import annotations

import uuid

from strawberry.dataloader import DataLoader

from core.models import Carrier, Gateway
from schema.context import Context
from schema.core.loaders import children_by_parent, rows_by_id


def carrier_by_id(context: Context) -> DataLoader[uuid.UUID, Carrier | None]:
    return rows_by_id(context, Carrier)


def gateways_by_carrier(context: Context) -> DataLoader[uuid.UUID, list[Gateway]]:
    return children_by_parent(context, Gateway.carrier_id, Gateway.position)
