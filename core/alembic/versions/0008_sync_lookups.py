"""sync lookups: the extension sequence's position, indexes for hand-made subscribers by
e-mail and for excluded preview rows, room for updates in subscriber pages

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # Room in each page for updated rows (HOT updates); see Subscriber.
        op.execute("ALTER TABLE subscriber SET (fillfactor = 90)")
    with op.batch_alter_table("directory_link") as batch:
        batch.add_column(sa.Column("alias_next", sa.Integer(), nullable=True))
    op.create_index(
        "ix_directory_preview_row_excluded",
        "directory_preview_row",
        ["link_id"],
        sqlite_where=sa.text("excluded"),
        postgresql_where=sa.text("excluded"),
    )
    op.create_index(
        "ix_subscriber_tenant_manual_email",
        "subscriber",
        ["tenant_id", sa.text("lower(email)")],
        sqlite_where=sa.text("source = 'MANUAL'"),
        postgresql_where=sa.text("source = 'MANUAL'"),
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE subscriber RESET (fillfactor)")
    op.drop_index("ix_directory_preview_row_excluded", table_name="directory_preview_row")
    op.drop_index("ix_subscriber_tenant_manual_email", table_name="subscriber")
    with op.batch_alter_table("directory_link") as batch:
        batch.drop_column("alias_next")
