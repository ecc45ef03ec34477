"""prepaid balances and their ledger (top-ups, adjustments, call charges per collected
batch, re-rating differences)

Revision ID: 0018
Revises: 0013
Create Date: 2026-12-07 23:06:55.294442
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('call_leg', schema=None) as batch_op:
        batch_op.create_index('ix_call_leg_prepaid_rated', ['rated_at'], unique=False,
                              postgresql_where=sa.text('prepaid'),
                              sqlite_where=sa.text('prepaid'))
    op.create_table('prepaid_balance',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('isp_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_prepaid_balance_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['isp_id'], ['isp.id'], name=op.f('fk_prepaid_balance_isp_id_isp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_prepaid_balance'))
    )
    with op.batch_alter_table('prepaid_balance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prepaid_balance_isp_id'), ['isp_id'], unique=False)

    op.create_table('prepaid_ledger_entry',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('isp_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('TOP_UP', 'ADJUSTMENT', 'CALL_CHARGES', 'RERATING', name='prepaid_entry_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('balance_after', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('legs', sa.Integer(), nullable=False),
    sa.Column('proxy_database', sa.String(length=64), nullable=True),
    sa.Column('administrator_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_prepaid_ledger_entry_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['isp_id'], ['isp.id'], name=op.f('fk_prepaid_ledger_entry_isp_id_isp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prepaid_ledger_entry'))
    )
    with op.batch_alter_table('prepaid_ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_prepaid_ledger_entry_customer_at', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_prepaid_ledger_entry_isp_id'), ['isp_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('prepaid_ledger_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prepaid_ledger_entry_isp_id'))
        batch_op.drop_index('ix_prepaid_ledger_entry_customer_at')

    op.drop_table('prepaid_ledger_entry')
    with op.batch_alter_table('prepaid_balance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prepaid_balance_isp_id'))

    op.drop_table('prepaid_balance')
    with op.batch_alter_table('call_leg', schema=None) as batch_op:
        batch_op.drop_index('ix_call_leg_prepaid_rated', postgresql_where=sa.text('prepaid'),
                            sqlite_where=sa.text('prepaid'))
