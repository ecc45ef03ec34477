"""routing change subjects: what each change request touched, for incremental exports

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_change_subject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=253), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_change_subject")),
    )
    op.create_index(op.f("ix_routing_change_subject_request"), "routing_change_subject",
                    ["request"], unique=False)
    with op.batch_alter_table("routing_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subjects_kept_after", sa.Integer(), nullable=False,
                                      server_default="0"))
    # Requests made before this revision left no subjects: an export that covered less than
    # the current request is a full one.
    op.execute("UPDATE routing_changes SET subjects_kept_after = requested")
    with op.batch_alter_table("routing_changes", schema=None) as batch_op:
        batch_op.alter_column("subjects_kept_after", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("routing_changes", schema=None) as batch_op:
        batch_op.drop_column("subjects_kept_after")
    op.drop_index(op.f("ix_routing_change_subject_request"), table_name="routing_change_subject")
    op.drop_table("routing_change_subject")
