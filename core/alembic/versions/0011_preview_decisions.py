"""preview decisions: the hand-made subscriber a directory user collides with, and the
administrator's choice to import the user separately; where discovery's listing ended
(the first round after the import goes on from there)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 20:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("directory_link") as batch:
        batch.add_column(sa.Column("discovered_state", sa.Text(), nullable=True))
    with op.batch_alter_table("directory_preview_row") as batch:
        batch.add_column(sa.Column("hand_made_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("import_separately", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.create_foreign_key(
            op.f("fk_directory_preview_row_hand_made_id_subscriber"), "subscriber",
            ["hand_made_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("directory_preview_row") as batch:
        batch.drop_constraint(op.f("fk_directory_preview_row_hand_made_id_subscriber"),
                              type_="foreignkey")
        batch.drop_column("import_separately")
        batch.drop_column("hand_made_id")
    with op.batch_alter_table("directory_link") as batch:
        batch.drop_column("discovered_state")
