"""catalogue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:19:34.744190
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_file",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_stored_file_size_not_negative")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["administrator.id"],
            name=op.f("fk_stored_file_created_by_id_administrator"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_stored_file_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_stored_file_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_file")),
    )
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stored_file_created_by_id"), ["created_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_stored_file_isp_id"), ["isp_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stored_file_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("isp", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("number_quarantine_days", sa.Integer(), nullable=False, server_default="30")
        )
        batch_op.create_check_constraint(
            "number_quarantine_days", "number_quarantine_days BETWEEN 0 AND 365"
        )

    with op.batch_alter_table("number", schema=None) as batch_op:
        batch_op.create_index(
            "ix_number_isp_e164",
            ["isp_id", "e164"],
            unique=False,
            postgresql_ops={"e164": "text_pattern_ops"},
        )


def downgrade() -> None:
    with op.batch_alter_table("isp", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_isp_number_quarantine_days"), type_="check")
        batch_op.drop_column("number_quarantine_days")

    with op.batch_alter_table("number", schema=None) as batch_op:
        batch_op.drop_index("ix_number_isp_e164", postgresql_ops={"e164": "text_pattern_ops"})

    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_file_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_stored_file_isp_id"))
        batch_op.drop_index(batch_op.f("ix_stored_file_created_by_id"))

    op.drop_table("stored_file")
