"""call records: no per-row foreign-key checks on call_record and call_leg; deleting an
ISP still deletes its calls (a trigger on isp)

Collection writes a million calls and two million legs in one run; a foreign-key check
costs an index probe and a row lock per written row (measured: a leg insert three times
slower with its check than without). The references were there for one thing, deleting
an ISP's calls with it; a trigger on isp does that instead, per deleted ISP, not per call.

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-07 23:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRESQL_TRIGGER = """
CREATE FUNCTION isp_delete_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM call_leg WHERE isp_id = OLD.id;
    DELETE FROM call_record WHERE isp_id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER isp_delete_calls BEFORE DELETE ON isp
    FOR EACH ROW EXECUTE FUNCTION isp_delete_calls();
"""
_SQLITE_TRIGGER = """
CREATE TRIGGER isp_delete_calls BEFORE DELETE ON isp
BEGIN
    DELETE FROM call_leg WHERE isp_id = OLD.id;
    DELETE FROM call_record WHERE isp_id = OLD.id;
END
"""


def upgrade() -> None:
    with op.batch_alter_table('call_leg', schema=None) as batch_op:
        batch_op.drop_constraint('fk_call_leg_call_record_id_call_record', type_='foreignkey')
    with op.batch_alter_table('call_record', schema=None) as batch_op:
        batch_op.drop_constraint('fk_call_record_isp_id_isp', type_='foreignkey')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_POSTGRESQL_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute('DROP TRIGGER IF EXISTS isp_delete_calls' + (
        ' ON isp' if op.get_bind().dialect.name == 'postgresql' else ''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS isp_delete_calls()')
    with op.batch_alter_table('call_record', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_call_record_isp_id_isp', 'isp', ['isp_id'], ['id'],
                                    ondelete='CASCADE')
    with op.batch_alter_table('call_leg', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_call_leg_call_record_id_call_record', 'call_record',
                                    ['call_record_id'], ['id'], ondelete='CASCADE')
