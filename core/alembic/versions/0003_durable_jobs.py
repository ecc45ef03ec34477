"""durable jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 00:05:48.711774
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "periodic_task_run",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_scheduler", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_task_run")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        # Existing rows get the model's default; new rows always name their limit.
        batch_op.add_column(
            sa.Column("timeout_seconds", sa.Integer(), nullable=False, server_default="3600")
        )
        batch_op.add_column(sa.Column("error_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("run_after", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("worker_id", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint("timeout_seconds", "timeout_seconds > 0")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.alter_column("timeout_seconds", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_job_timeout_seconds"), type_="check")
        batch_op.drop_column("cancel_requested_at")
        batch_op.drop_column("worker_id")
        batch_op.drop_column("run_after")
        batch_op.drop_column("dispatched_at")
        batch_op.drop_column("error_code")
        batch_op.drop_column("timeout_seconds")

    op.drop_table("periodic_task_run")
