"""call records: calls collected from the proxies' accounting, their rated legs, the
revisions re-rating replaced, daily usage totals, carriers' vendor rates and the
collection watermarks

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07 20:35:56.000206
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('call_collection',
    sa.Column('proxy_database', sa.String(length=64), nullable=False),
    sa.Column('acc_last_id', sa.BigInteger(), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('calls_collected', sa.BigInteger(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('proxy_database', name=op.f('pk_call_collection'))
    )
    op.create_table('call_usage_day',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('leg_type', sa.Enum('PSTN', 'DID', 'TOLL_FREE', 'SIP', name='service', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('destination', sa.String(length=200), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('answered_calls', sa.Integer(), nullable=False),
    sa.Column('billed_legs', sa.Integer(), nullable=False),
    sa.Column('billed_seconds', sa.BigInteger(), nullable=False),
    sa.Column('charges', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('cost', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.PrimaryKeyConstraint('customer_id', 'day', 'leg_type', 'destination', name=op.f('pk_call_usage_day'))
    )
    op.create_table('call_record',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('proxy_database', sa.String(length=64), nullable=False),
    sa.Column('call_id', sa.String(length=255), nullable=False),
    sa.Column('from_tag', sa.String(length=128), nullable=False),
    sa.Column('to_tag', sa.String(length=128), nullable=False),
    sa.Column('isp_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=True),
    sa.Column('subscriber_id', sa.Uuid(), nullable=True),
    sa.Column('direction', sa.Enum('OUTBOUND', 'INBOUND', 'INTERNAL', name='call_direction', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('state', sa.Enum('ANSWERED', 'COMPLETED', 'FAILED', 'END_UNKNOWN', name='call_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('caller', sa.String(length=128), nullable=False),
    sa.Column('callee', sa.String(length=128), nullable=False),
    sa.Column('carrier_id', sa.Uuid(), nullable=True),
    sa.Column('gateway_id', sa.Uuid(), nullable=True),
    sa.Column('setup_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('sip_code', sa.Integer(), nullable=False),
    sa.Column('sip_reason', sa.String(length=128), nullable=False),
    sa.Column('attempts', sa.JSON(), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['isp_id'], ['isp.id'], name=op.f('fk_call_record_isp_id_isp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_record')),
    sa.UniqueConstraint('proxy_database', 'call_id', 'from_tag', name=op.f('uq_call_record_proxy_database_call_id_from_tag'))
    )
    with op.batch_alter_table('call_record', schema=None) as batch_op:
        batch_op.create_index('ix_call_record_customer_setup', ['customer_id', 'setup_at'], unique=False)
        batch_op.create_index('ix_call_record_isp_setup', ['isp_id', 'setup_at'], unique=False)
        batch_op.create_index('ix_call_record_open', ['proxy_database', 'state'], unique=False, postgresql_where=sa.text("state = 'ANSWERED'"), sqlite_where=sa.text("state = 'ANSWERED'"))
        batch_op.create_index(batch_op.f('ix_call_record_subscriber_id'), ['subscriber_id'], unique=False)
        batch_op.create_index('ix_call_record_tenant_setup', ['tenant_id', 'setup_at'], unique=False)

    op.create_table('call_leg',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('call_record_id', sa.Uuid(), nullable=False),
    sa.Column('side', sa.Enum('A', 'B', name='call_leg_side', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('leg_type', sa.Enum('PSTN', 'DID', 'TOLL_FREE', 'SIP', name='service', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('direction', sa.Enum('OUTBOUND', 'INBOUND', 'INTERNAL', name='call_direction', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('isp_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=True),
    sa.Column('setup_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.Column('number', sa.String(length=128), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('deck', sa.Enum('RATE_DECK', 'SERVICE_DECK', 'MONTHLY', 'NO_PLAN', name='rating_deck', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('destination', sa.String(length=200), nullable=False),
    sa.Column('rate_per_minute', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('minimum_duration', sa.Integer(), nullable=False),
    sa.Column('increment', sa.Integer(), nullable=False),
    sa.Column('delay', sa.Integer(), nullable=False),
    sa.Column('billing_seconds', sa.Integer(), nullable=False),
    sa.Column('price', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('prepaid', sa.Boolean(), nullable=False),
    sa.Column('cost', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_record_id'], ['call_record.id'], name=op.f('fk_call_leg_call_record_id_call_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_leg')),
    sa.UniqueConstraint('call_record_id', 'side', name=op.f('uq_call_leg_call_record_id_side'))
    )
    with op.batch_alter_table('call_leg', schema=None) as batch_op:
        batch_op.create_index('ix_call_leg_customer_setup', ['customer_id', 'setup_at'], unique=False)

    op.create_table('vendor_rate_entry',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('carrier_id', sa.Uuid(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('rate_per_minute', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('minimum_duration', sa.Integer(), nullable=False),
    sa.Column('increment', sa.Integer(), nullable=False),
    sa.Column('delay', sa.Integer(), nullable=False),
    sa.CheckConstraint('increment >= 1', name=op.f('ck_vendor_rate_entry_increment')),
    sa.CheckConstraint('rate_per_minute >= 0', name=op.f('ck_vendor_rate_entry_rate_not_negative')),
    sa.ForeignKeyConstraint(['carrier_id'], ['carrier.id'], name=op.f('fk_vendor_rate_entry_carrier_id_carrier'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_rate_entry'))
    )
    with op.batch_alter_table('vendor_rate_entry', schema=None) as batch_op:
        batch_op.create_index('ix_vendor_rate_entry_carrier_prefix', ['carrier_id', 'prefix'], unique=False)

    op.create_table('call_leg_revision',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('call_leg_id', sa.Uuid(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('deck', sa.Enum('RATE_DECK', 'SERVICE_DECK', 'MONTHLY', 'NO_PLAN', name='rating_deck', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('rate_per_minute', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('billing_seconds', sa.Integer(), nullable=False),
    sa.Column('price', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('cost', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_leg_id'], ['call_leg.id'], name=op.f('fk_call_leg_revision_call_leg_id_call_leg'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_leg_revision'))
    )
    with op.batch_alter_table('call_leg_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_leg_revision_call_leg_id'), ['call_leg_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('call_leg_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_leg_revision_call_leg_id'))

    op.drop_table('call_leg_revision')
    with op.batch_alter_table('vendor_rate_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_vendor_rate_entry_carrier_prefix')

    op.drop_table('vendor_rate_entry')
    with op.batch_alter_table('call_leg', schema=None) as batch_op:
        batch_op.drop_index('ix_call_leg_customer_setup')

    op.drop_table('call_leg')
    with op.batch_alter_table('call_record', schema=None) as batch_op:
        batch_op.drop_index('ix_call_record_tenant_setup')
        batch_op.drop_index(batch_op.f('ix_call_record_subscriber_id'))
        batch_op.drop_index('ix_call_record_open', postgresql_where=sa.text("state = 'ANSWERED'"), sqlite_where=sa.text("state = 'ANSWERED'"))
        batch_op.drop_index('ix_call_record_isp_setup')
        batch_op.drop_index('ix_call_record_customer_setup')

    op.drop_table('call_record')
    op.drop_table('call_usage_day')
    op.drop_table('call_collection')
