"""Dataloaders of dial plans and their rules."""

from __future__ import annotations

import uuid

from strawberry.dataloader import DataLoader

from core.models import DialPlan, DialPlanRule
from schema.context import Context
from schema.core.loaders import children_by_parent, rows_by_id


def dial_plan_by_id(context: Context) -> DataLoader[uuid.UUID, DialPlan | None]:
    return rows_by_id(context, DialPlan)


def rules_by_dial_plan(context: Context) -> DataLoader[uuid.UUID, list[DialPlanRule]]:
    return children_by_parent(context, DialPlanRule.dial_plan_id, DialPlanRule.priority)
