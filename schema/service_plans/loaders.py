"""Dataloaders of the catalogue's service plans."""

from __future__ import annotations

import uuid

from strawberry.dataloader import DataLoader

from core.models import ServicePlan
from schema.context import Context
from schema.core.loaders import rows_by_id


def service_plan_by_id(context: Context) -> DataLoader[uuid.UUID, ServicePlan | None]:
    return rows_by_id(context, ServicePlan)
