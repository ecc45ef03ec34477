"""call records: call_leg loses its (customer, setup) index; a customer's legs of a
period are found through their calls' (customer, setup) index

Collection writes two legs a call: every index on call_leg is written two million
times a million calls. This one served only usageSummary's partial days and re-rating,
which read a customer's calls of a period; call_record's ix_call_record_customer_setup
finds those calls, and uq_call_leg_call_record_id_side their legs.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-08 00:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('call_leg', schema=None) as batch_op:
        batch_op.drop_index('ix_call_leg_customer_setup')


def downgrade() -> None:
    with op.batch_alter_table('call_leg', schema=None) as batch_op:
        batch_op.create_index('ix_call_leg_customer_setup', ['customer_id', 'setup_at'],
                              unique=False)
