"""customer.subscriber_count: the customer's subscribers, kept by triggers

Every path that creates subscribers asks the customer's room (core.customers) in its
transaction; counting the subscribers of every tenant of the customer there read each of
them (50,000 for a large tenant) on every write that creates users, a directory round
of a few changes included. The database keeps the count instead, whatever writes the
rows (the ORM, bulk INSERTs, COPY, foreign-key cascades): inserted and deleted
subscribers, a subscriber moved to another tenant, a tenant deleted or given to another
customer. PostgreSQL counts an INSERT or DELETE statement's rows once per statement
(transition tables); SQLite, which has no such triggers, once per row.

A tenant's deletion subtracts its subscribers before they go (their cascaded deletion
then finds the tenant gone and counts nothing): both databases run a cascade after
the parent row is deleted.

A later SQLite migration that rebuilds the subscriber or tenant table (batch mode's
"move and copy") drops these triggers with the old table: it must create them again.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 00:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = """
UPDATE customer SET subscriber_count = (
    SELECT count(*) FROM subscriber JOIN tenant ON tenant.id = subscriber.tenant_id
    WHERE tenant.customer_id = customer.id)
"""

_POSTGRESQL = [
    """
CREATE FUNCTION subscriber_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customer SET subscriber_count = customer.subscriber_count + added.n
    FROM (SELECT tenant.customer_id, count(*) AS n FROM inserted_subscriber
          JOIN tenant ON tenant.id = inserted_subscriber.tenant_id
          GROUP BY tenant.customer_id) AS added
    WHERE customer.id = added.customer_id;
    RETURN NULL;
END $$
""", """
CREATE TRIGGER subscriber_count_inserted AFTER INSERT ON subscriber
    REFERENCING NEW TABLE AS inserted_subscriber
    FOR EACH STATEMENT EXECUTE FUNCTION subscriber_count_inserted()
""", """
CREATE FUNCTION subscriber_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customer SET subscriber_count = customer.subscriber_count - gone.n
    FROM (SELECT tenant.customer_id, count(*) AS n FROM deleted_subscriber
          JOIN tenant ON tenant.id = deleted_subscriber.tenant_id
          GROUP BY tenant.customer_id) AS gone
    WHERE customer.id = gone.customer_id;
    RETURN NULL;
END $$
""", """
CREATE TRIGGER subscriber_count_deleted AFTER DELETE ON subscriber
    REFERENCING OLD TABLE AS deleted_subscriber
    FOR EACH STATEMENT EXECUTE FUNCTION subscriber_count_deleted()
""", """
CREATE FUNCTION subscriber_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customer SET subscriber_count = subscriber_count - 1
    WHERE id = (SELECT customer_id FROM tenant WHERE id = OLD.tenant_id);
    UPDATE customer SET subscriber_count = subscriber_count + 1
    WHERE id = (SELECT customer_id FROM tenant WHERE id = NEW.tenant_id);
    RETURN NULL;
END $$
""", """
CREATE TRIGGER subscriber_count_moved AFTER UPDATE OF tenant_id ON subscriber
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION subscriber_count_moved()
""", """
CREATE FUNCTION tenant_subscriber_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint := (SELECT count(*) FROM subscriber WHERE tenant_id = OLD.id);
BEGIN
    UPDATE customer SET subscriber_count = subscriber_count - n WHERE id = OLD.customer_id;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    UPDATE customer SET subscriber_count = subscriber_count + n WHERE id = NEW.customer_id;
    RETURN NEW;
END $$
""", """
CREATE TRIGGER tenant_subscriber_count_deleted BEFORE DELETE ON tenant
    FOR EACH ROW EXECUTE FUNCTION tenant_subscriber_count()
""", """
CREATE TRIGGER tenant_subscriber_count_moved AFTER UPDATE OF customer_id ON tenant
    FOR EACH ROW WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id)
    EXECUTE FUNCTION tenant_subscriber_count()
"""]

_SQLITE = [
    """
CREATE TRIGGER subscriber_count_inserted AFTER INSERT ON subscriber
BEGIN
    UPDATE customer SET subscriber_count = subscriber_count + 1
    WHERE id = (SELECT customer_id FROM tenant WHERE id = NEW.tenant_id);
END
""", """
CREATE TRIGGER subscriber_count_deleted AFTER DELETE ON subscriber
BEGIN
    UPDATE customer SET subscriber_count = subscriber_count - 1
    WHERE id = (SELECT customer_id FROM tenant WHERE id = OLD.tenant_id);
END
""", """
CREATE TRIGGER subscriber_count_moved AFTER UPDATE OF tenant_id ON subscriber
    WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN
    UPDATE customer SET subscriber_count = subscriber_count - 1
    WHERE id = (SELECT customer_id FROM tenant WHERE id = OLD.tenant_id);
    UPDATE customer SET subscriber_count = subscriber_count + 1
    WHERE id = (SELECT customer_id FROM tenant WHERE id = NEW.tenant_id);
END
""", """
CREATE TRIGGER tenant_subscriber_count_deleted BEFORE DELETE ON tenant
BEGIN
    UPDATE customer SET subscriber_count = subscriber_count
        - (SELECT count(*) FROM subscriber WHERE tenant_id = OLD.id)
    WHERE id = OLD.customer_id;
END
""", """
CREATE TRIGGER tenant_subscriber_count_moved AFTER UPDATE OF customer_id ON tenant
    WHEN OLD.customer_id IS NOT NEW.customer_id
BEGIN
    UPDATE customer SET subscriber_count = subscriber_count
        - (SELECT count(*) FROM subscriber WHERE tenant_id = OLD.id)
    WHERE id = OLD.customer_id;
    UPDATE customer SET subscriber_count = subscriber_count
        + (SELECT count(*) FROM subscriber WHERE tenant_id = NEW.id)
    WHERE id = NEW.customer_id;
END
"""]

_TRIGGERS = (("subscriber_count_inserted", "subscriber"), ("subscriber_count_deleted", "subscriber"),
             ("subscriber_count_moved", "subscriber"),
             ("tenant_subscriber_count_deleted", "tenant"),
             ("tenant_subscriber_count_moved", "tenant"))
_FUNCTIONS = ("subscriber_count_inserted", "subscriber_count_deleted", "subscriber_count_moved",
              "tenant_subscriber_count")


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscriber_count', sa.Integer(), nullable=False,
                                      server_default='0'))
    op.execute(_BACKFILL)
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for trigger, table in _TRIGGERS:
        op.execute(f'DROP TRIGGER IF EXISTS {trigger}' + (f' ON {table}' if postgresql else ''))
    if postgresql:
        for function in _FUNCTIONS:
            op.execute(f'DROP FUNCTION IF EXISTS {function}()')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('subscriber_count')
