"""Dial plans: ordered rewrite rules that turn what users dial into E.164."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Field

from core.models.base import IdMixin, TimestampsMixin, foreign_key

MAX_EXPRESSION_LENGTH = 256


class DialPlan(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "dial_plan"
    __table_args__ = (sa.UniqueConstraint("isp_id", "name"),)

    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=500)


class DialPlanRule(IdMixin, TimestampsMixin, table=True):
    """Rules are tried by ascending priority; the first that matches rewrites the number."""

    __tablename__ = "dial_plan_rule"
    __table_args__ = (
        sa.UniqueConstraint("dial_plan_id", "priority"),
        sa.CheckConstraint("priority >= 0", name="priority_not_negative"),
    )

    dial_plan_id: uuid.UUID = foreign_key("dial_plan.id", ondelete="CASCADE")
    priority: int
    description: str = Field(default="", max_length=200)
    match_expression: str = Field(max_length=MAX_EXPRESSION_LENGTH)
    substitution_expression: str = Field(max_length=MAX_EXPRESSION_LENGTH)
    # May contain _CC_ / _AC_ (caller's country and area code) and \1..\9.
    replacement: str = Field(max_length=MAX_EXPRESSION_LENGTH)
