"""Dataloaders for relations that lead to a customer."""

from __future__ import annotations

import uuid

from strawberry.dataloader import DataLoader

from core.models import Customer
from schema.context import Context
from schema.core.loaders import rows_by_id


def customer_by_id(context: Context) -> DataLoader[uuid.UUID, Customer | None]:
    return rows_by_id(context, Customer)
