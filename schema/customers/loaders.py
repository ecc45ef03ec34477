"""Dataloaders for relations that lead to a customer."""

from __future__ import annotations

import uuid

from strawberry.dataloader import DataLoader

from core.models import Customer
from schema.context import Context
from schema.service_plans.loaders import visible_by_id


def customer_by_id(context: Context) -> DataLoader[uuid.UUID, Customer | None]:
    return visible_by_id(context, Customer)
