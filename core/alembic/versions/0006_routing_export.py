"""routing export

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 08:55:14.142974
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_changes")),
    )
    op.create_table(
        "routing_database",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("covered_request", sa.Integer(), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_rows_written", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_routing_database")),
    )
    op.create_table(
        "routing_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_identifier")),
        sa.UniqueConstraint("kind", "object_id", name=op.f("uq_routing_identifier_kind_object_id")),
    )
    op.create_table(
        "sip_proxy",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("database_url_encrypted", sa.Text(), nullable=False),
        sa.Column("database_display", sa.String(length=500), nullable=False),
        sa.Column("database_key", sa.String(length=64), nullable=False),
        sa.Column("rpc_url", sa.String(length=500), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("applied_generation", sa.Integer(), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sip_proxy")),
        sa.UniqueConstraint("name", name=op.f("uq_sip_proxy_name")),
    )
    with op.batch_alter_table("sip_proxy", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sip_proxy_database_key"), ["database_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sip_proxy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sip_proxy_database_key"))

    op.drop_table("sip_proxy")
    op.drop_table("routing_identifier")
    op.drop_table("routing_database")
    op.drop_table("routing_changes")
