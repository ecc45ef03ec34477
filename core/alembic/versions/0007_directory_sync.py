"""directory sync

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:15:31.702241
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "directory_watch_channel",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["directory_link.id"],
            name=op.f("fk_directory_watch_channel_link_id_directory_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_watch_channel")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_directory_watch_channel_channel_id")),
    )
    op.create_index(
        op.f("ix_directory_watch_channel_link_id"),
        "directory_watch_channel",
        ["link_id"],
        unique=False,
    )
    op.create_table(
        "directory_consent_request",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("administrator_id", sa.Uuid(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(
                "GOOGLE",
                "MICROSOFT",
                name="directory_provider",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("code_verifier_encrypted", sa.Text(), nullable=True),
        sa.Column("with_groups", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["administrator_id"],
            ["administrator.id"],
            name=op.f("fk_directory_consent_request_administrator_id_administrator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_directory_consent_request_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_consent_request")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_directory_consent_request_state_hash")),
    )
    with op.batch_alter_table("directory_consent_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_consent_request_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "directory_preview_row",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("alias", sa.String(length=16), nullable=True),
        sa.Column("caller_id", sa.String(length=16), nullable=True),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("conflicts", sa.JSON(), nullable=False),
        sa.Column("link_subscriber_id", sa.Uuid(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["directory_link.id"],
            name=op.f("fk_directory_preview_row_link_id_directory_link"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_directory_preview_row_link_subscriber_id_subscriber"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_preview_row")),
        sa.UniqueConstraint(
            "link_id", "external_id", name=op.f("uq_directory_preview_row_link_id_external_id")
        ),
    )
    with op.batch_alter_table("directory_preview_row", schema=None) as batch_op:
        batch_op.create_index(
            "ix_directory_preview_row_link_position", ["link_id", "position"], unique=False
        )

    op.create_table(
        "directory_sync_pending",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("subscriber_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["job.id"],
            name=op.f("fk_directory_sync_pending_job_id_job"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["directory_link.id"],
            name=op.f("fk_directory_sync_pending_link_id_directory_link"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_directory_sync_pending_subscriber_id_subscriber"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_sync_pending")),
    )
    with op.batch_alter_table("directory_sync_pending", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_sync_pending_job_id"), ["job_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_directory_sync_pending_link_id"), ["link_id"], unique=False
        )

    with op.batch_alter_table("directory_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("scope", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(
            sa.Column("removal_grace_days", sa.Integer(), nullable=False, server_default="30")
        )
        batch_op.add_column(
            sa.Column("brake_percent", sa.Integer(), nullable=False, server_default="10")
        )
        batch_op.drop_constraint(op.f("ck_directory_link_directory_link_status"), type_="check")
        batch_op.create_check_constraint(
            "directory_link_status",
            sa.text(
                "status IN ('PENDING_CONSENT', 'LINKED', 'ACTIVE', 'CONSENT_REVOKED', 'ERROR')"
            ),
        )
        batch_op.add_column(sa.Column("sync_state", sa.Text(), nullable=True))

    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
        batch_op.drop_constraint(op.f("ck_job_job_status"), type_="check")
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=9),
            type_=sa.String(length=18),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(
            "job_status",
            sa.text(
                "status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', "
                "'NEEDS_CONFIRMATION')"
            ),
        )

    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sync_fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("directory_deleted_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.drop_column("directory_deleted_at")
        batch_op.drop_column("sync_fingerprint")

    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("request_id")
        batch_op.drop_constraint(op.f("ck_job_job_status"), type_="check")
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=18),
            type_=sa.String(length=9),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(
            "job_status",
            sa.text("status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')"),
        )

    with op.batch_alter_table("directory_link", schema=None) as batch_op:
        batch_op.drop_column("sync_state")
        batch_op.drop_column("brake_percent")
        batch_op.drop_column("removal_grace_days")
        batch_op.drop_column("scope")
        batch_op.drop_column("last_error")
        batch_op.drop_constraint(op.f("ck_directory_link_directory_link_status"), type_="check")
        batch_op.create_check_constraint(
            "directory_link_status",
            sa.text("status IN ('PENDING_CONSENT', 'ACTIVE', 'CONSENT_REVOKED', 'ERROR')"),
        )

    with op.batch_alter_table("directory_sync_pending", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_sync_pending_link_id"))
        batch_op.drop_index(batch_op.f("ix_directory_sync_pending_job_id"))

    op.drop_table("directory_sync_pending")
    with op.batch_alter_table("directory_preview_row", schema=None) as batch_op:
        batch_op.drop_index("ix_directory_preview_row_link_position")

    op.drop_table("directory_preview_row")
    with op.batch_alter_table("directory_consent_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_consent_request_tenant_id"))

    op.drop_table("directory_consent_request")
    op.drop_index(op.f("ix_directory_watch_channel_link_id"), table_name="directory_watch_channel")
    op.drop_table("directory_watch_channel")
