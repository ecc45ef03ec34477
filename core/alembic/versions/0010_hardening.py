"""hardening: routing status per ISP (the last change request of each ISP, and of changes
no ISP owns); rate limits (sign-up e-mails per address and per client); when a verified
domain lapsed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_isp_change",
        sa.Column("isp_id", sa.Uuid(), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["isp_id"], ["isp.id"],
                                name=op.f("fk_routing_isp_change_isp_id_isp"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("isp_id", name=op.f("pk_routing_isp_change")),
    )
    with op.batch_alter_table("routing_changes") as batch:
        batch.add_column(sa.Column("unattributed", sa.Integer(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("verified_domain") as batch:
        batch.add_column(sa.Column("lapsed_at", sa.DateTime(timezone=True), nullable=True))
    # Domains that lapsed before: as if at their last check (the grace period runs from then).
    op.execute("UPDATE verified_domain SET lapsed_at = last_checked_at WHERE status = 'LAPSED'")
    op.create_table(
        "rate_limit",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit")),
    )


def downgrade() -> None:
    op.drop_table("rate_limit")
    with op.batch_alter_table("verified_domain") as batch:
        batch.drop_column("lapsed_at")
    with op.batch_alter_table("routing_changes") as batch:
        batch.drop_column("unattributed")
    op.drop_table("routing_isp_change")
