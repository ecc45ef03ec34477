"""number ordering

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 01:18:38.710511
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _on_postgresql():
        # Byte order for e164, so that one plain (isp_id, e164) index serves both the
        # ORDER BY of a page and the LIKE '+1209%' prefix filter.
        op.drop_index("ix_number_isp_e164", table_name="number")
        op.execute('ALTER TABLE number ALTER COLUMN e164 TYPE VARCHAR(16) COLLATE "C"')
        op.create_index("ix_number_isp_e164", "number", ["isp_id", "e164"])
    with op.batch_alter_table("number", schema=None) as batch_op:
        batch_op.create_index(
            "ix_number_quarantine_until",
            ["quarantine_until"],
            unique=False,
            postgresql_where=sa.text("state = 'QUARANTINE'"),
            sqlite_where=sa.text("state = 'QUARANTINE'"),
        )


def downgrade() -> None:
    if _on_postgresql():
        op.drop_index("ix_number_isp_e164", table_name="number")
        op.execute('ALTER TABLE number ALTER COLUMN e164 TYPE VARCHAR(16) COLLATE "default"')
        op.create_index("ix_number_isp_e164", "number", ["isp_id", "e164"],
                        postgresql_ops={"e164": "text_pattern_ops"})
    with op.batch_alter_table("number", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_number_quarantine_until",
            postgresql_where=sa.text("state = 'QUARANTINE'"),
            sqlite_where=sa.text("state = 'QUARANTINE'"),
        )
