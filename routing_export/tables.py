"""The proxies' tables: Kamailio's own PostgreSQL schema, as the export writes it.

Each definition follows ``/usr/share/kamailio/postgres/<module>-create.sql`` of
Kamailio 5.6 with the same ``version`` rows (dialplan and auth_db refuse to
start without them). Differences, all invisible to Kamailio: some text columns
are wider (tenant domains and dial-plan expressions are longer than Kamailio's
defaults; ``address.port`` is an INTEGER, since gateway ports go up to 65535),
``subscriber`` has the extra per-user columns the cfg loads with
``load_credentials``, and the hash tables the cfg uses get a table each
with htable's schema. ``acc``, ``missed_calls`` and ``location`` (registrations,
shared by every proxy of the database) are written by the proxies, never by the
export. ``README.md`` beside this file says what the rows mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class Table:
    """One exported table: its natural key, the values under it, and how to reload it."""

    name: str
    key: tuple[str, ...]
    values: tuple[str, ...]
    # The JSON-RPC call (method, params) that makes the proxies read it again; None: read live.
    reload: tuple[str, tuple[str, ...]] | None
    # The column Kamailio numbers rows by; never compared, only used to address rows.
    id_column: str = "id"

    @property
    def columns(self) -> tuple[str, ...]:
        return self.key + self.values


_HTABLE_COLUMNS = """
    id SERIAL PRIMARY KEY NOT NULL,
    key_name VARCHAR(256) DEFAULT '' NOT NULL,
    key_type INTEGER DEFAULT 0 NOT NULL,
    value_type INTEGER DEFAULT 0 NOT NULL,
    key_value VARCHAR(512) DEFAULT '' NOT NULL,
    expires INTEGER DEFAULT 0 NOT NULL"""

# acc's and missed_calls' columns: Kamailio's (method .. time), then the extras the cfg
# writes (its `time_attr` and `db_extra`): epoch times in UTC, who called what, and how.
_ACC_COLUMNS = """
    id BIGSERIAL PRIMARY KEY NOT NULL,
    method VARCHAR(16) DEFAULT '' NOT NULL,
    from_tag VARCHAR(128) DEFAULT '' NOT NULL,
    to_tag VARCHAR(128) DEFAULT '' NOT NULL,
    callid VARCHAR(255) DEFAULT '' NOT NULL,
    sip_code VARCHAR(3) DEFAULT '' NOT NULL,
    sip_reason VARCHAR(128) DEFAULT '' NOT NULL,
    time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    time_epoch DOUBLE PRECISION DEFAULT NULL,
    setup_epoch DOUBLE PRECISION DEFAULT NULL,
    source VARCHAR(16) DEFAULT NULL,
    src_ip VARCHAR(64) DEFAULT NULL,
    tenant_domain VARCHAR(253) DEFAULT NULL,
    caller VARCHAR(128) DEFAULT NULL,
    caller_id VARCHAR(32) DEFAULT NULL,
    callee VARCHAR(128) DEFAULT NULL,
    destination VARCHAR(16) DEFAULT NULL,
    carrier INTEGER DEFAULT NULL,
    gateway VARCHAR(64) DEFAULT NULL"""

_LOCATION_COLUMNS = """
    id SERIAL PRIMARY KEY NOT NULL,
    ruid VARCHAR(64) DEFAULT '' NOT NULL,
    username VARCHAR(128) DEFAULT '' NOT NULL,
    domain VARCHAR(253) DEFAULT NULL,
    contact VARCHAR(512) DEFAULT '' NOT NULL,
    received VARCHAR(128) DEFAULT NULL,
    path VARCHAR(512) DEFAULT NULL,
    expires TIMESTAMP WITHOUT TIME ZONE DEFAULT '2030-05-28 21:32:15' NOT NULL,
    q REAL DEFAULT 1.0 NOT NULL,
    callid VARCHAR(255) DEFAULT 'Default-Call-ID' NOT NULL,
    cseq INTEGER DEFAULT 1 NOT NULL,
    last_modified TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:01' NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    cflags INTEGER DEFAULT 0 NOT NULL,
    user_agent VARCHAR(255) DEFAULT '' NOT NULL,
    socket VARCHAR(64) DEFAULT NULL,
    methods INTEGER DEFAULT NULL,
    instance VARCHAR(255) DEFAULT NULL,
    reg_id INTEGER DEFAULT 0 NOT NULL,
    server_id INTEGER DEFAULT 0 NOT NULL,
    connection_id INTEGER DEFAULT 0 NOT NULL,
    keepalive INTEGER DEFAULT 0 NOT NULL,
    partition INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT location_ruid_idx UNIQUE (ruid)"""

DDL: dict[str, tuple[str, int]] = {
    # table name: (CREATE TABLE body, Kamailio's version of it)
    "version": ("""
    id SERIAL PRIMARY KEY NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT version_table_name_idx UNIQUE (table_name)""", 1),
    "subscriber": ("""
    id SERIAL PRIMARY KEY NOT NULL,
    username VARCHAR(128) DEFAULT '' NOT NULL,
    domain VARCHAR(253) DEFAULT '' NOT NULL,
    password VARCHAR(64) DEFAULT '' NOT NULL,
    ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    ha1b VARCHAR(128) DEFAULT '' NOT NULL,
    enabled INTEGER DEFAULT 1 NOT NULL,
    cc VARCHAR(3) DEFAULT '' NOT NULL,
    ac VARCHAR(8) DEFAULT '' NOT NULL,
    caller_id VARCHAR(16) DEFAULT '' NOT NULL,
    sgid INTEGER DEFAULT 0 NOT NULL,
    max_calls INTEGER DEFAULT 1 NOT NULL,
    ring_timeout INTEGER DEFAULT 20 NOT NULL,
    display VARCHAR(200) DEFAULT '' NOT NULL,
    fwd_all VARCHAR(16) DEFAULT '' NOT NULL,
    fwd_busy VARCHAR(16) DEFAULT '' NOT NULL,
    fwd_noanswer VARCHAR(16) DEFAULT '' NOT NULL,
    CONSTRAINT subscriber_account_idx UNIQUE (username, domain)""", 7),
    "domain": ("""
    id SERIAL PRIMARY KEY NOT NULL,
    domain VARCHAR(253) NOT NULL,
    did VARCHAR(253) DEFAULT NULL,
    last_modified TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:01' NOT NULL,
    CONSTRAINT domain_domain_idx UNIQUE (domain)""", 2),
    "domain_attrs": ("""
    id SERIAL PRIMARY KEY NOT NULL,
    did VARCHAR(253) NOT NULL,
    name VARCHAR(32) NOT NULL,
    type INTEGER NOT NULL,
    value VARCHAR(255) NOT NULL,
    last_modified TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:01' NOT NULL""", 1),
    "dialplan": ("""
    id SERIAL PRIMARY KEY NOT NULL,
    dpid INTEGER NOT NULL,
    pr INTEGER NOT NULL,
    match_op INTEGER NOT NULL,
    match_exp VARCHAR(256) NOT NULL,
    match_len INTEGER NOT NULL,
    subst_exp VARCHAR(256) NOT NULL,
    repl_exp VARCHAR(512) NOT NULL,
    attrs VARCHAR(64) NOT NULL""", 2),
    "dr_gateways": ("""
    gwid SERIAL PRIMARY KEY NOT NULL,
    type INTEGER DEFAULT 0 NOT NULL,
    address VARCHAR(128) NOT NULL,
    strip INTEGER DEFAULT 0 NOT NULL,
    pri_prefix VARCHAR(64) DEFAULT NULL,
    attrs VARCHAR(1200) DEFAULT NULL,
    description VARCHAR(128) DEFAULT '' NOT NULL""", 3),
    "dr_rules": ("""
    ruleid SERIAL PRIMARY KEY NOT NULL,
    groupid VARCHAR(255) NOT NULL,
    prefix VARCHAR(64) NOT NULL,
    timerec VARCHAR(255) NOT NULL,
    priority INTEGER DEFAULT 0 NOT NULL,
    routeid VARCHAR(64) NOT NULL,
    gwlist VARCHAR(255) NOT NULL,
    description VARCHAR(128) DEFAULT '' NOT NULL""", 3),
    "dr_gw_lists": ("""
    id SERIAL PRIMARY KEY NOT NULL,
    gwlist VARCHAR(255) NOT NULL,
    description VARCHAR(128) DEFAULT '' NOT NULL""", 1),
    "dr_groups": ("""
    id SERIAL PRIMARY KEY NOT NULL,
    username VARCHAR(64) NOT NULL,
    domain VARCHAR(128) DEFAULT '' NOT NULL,
    groupid INTEGER DEFAULT 0 NOT NULL,
    description VARCHAR(128) DEFAULT '' NOT NULL""", 2),
    "address": ("""
    id SERIAL PRIMARY KEY NOT NULL,
    grp INTEGER DEFAULT 1 NOT NULL,
    ip_addr VARCHAR(50) NOT NULL,
    mask INTEGER DEFAULT 32 NOT NULL,
    port INTEGER DEFAULT 0 NOT NULL,
    tag VARCHAR(64)""", 6),
    # Call accounting, written by the acc module and read (never changed) by the
    # control plane's collector: Kamailio's columns plus the cfg's db_extra ones.
    "acc": (_ACC_COLUMNS, 5),
    "missed_calls": (_ACC_COLUMNS, 4),
    # Registrations, written and read by the proxies themselves (usrloc db_mode 3): never
    # touched by the export. Kamailio's definition, username and domain as wide as
    # subscriber's.
    "location": (_LOCATION_COLUMNS, 9),
    "htable_alias": (_HTABLE_COLUMNS, 2),
    "htable_did": (_HTABLE_COLUMNS, 2),
    "htable_sg": (_HTABLE_COLUMNS, 2),
    "htable_sms": (_HTABLE_COLUMNS, 2),
}

# Added after a table's first release: ALTER TABLE ... ADD COLUMN IF NOT EXISTS on upgrade.
_ADDED_COLUMNS: dict[str, tuple[str, ...]] = {
    "subscriber": ("display VARCHAR(200) DEFAULT '' NOT NULL",
                   *(f"{name} VARCHAR(16) DEFAULT '' NOT NULL"
                     for name in ("fwd_all", "fwd_busy", "fwd_noanswer"))),
}

_INDEXES = (
    "CREATE INDEX IF NOT EXISTS acc_callid_idx ON acc (callid)",
    # usrloc's own: a lookup is by AOR; the timer deletes by expiry.
    "CREATE INDEX IF NOT EXISTS location_account_contact_idx ON location "
    "(username, domain, contact)",
    "CREATE INDEX IF NOT EXISTS location_expires_idx ON location (expires)",
    "CREATE INDEX IF NOT EXISTS location_connection_idx ON location "
    "(server_id, connection_id)",
    "CREATE INDEX IF NOT EXISTS missed_calls_callid_idx ON missed_calls (callid)",
    "CREATE INDEX IF NOT EXISTS subscriber_username_idx ON subscriber (username)",
    "CREATE INDEX IF NOT EXISTS domain_attrs_domain_attrs_idx ON domain_attrs (did, name)",
    *(f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_key_idx ON {name} (key_name)"
      for name in ("htable_alias", "htable_did", "htable_sg", "htable_sms")),
    # What an incremental export reads (exporter._CURRENT_IN_SCOPE): a tenant's rows by its
    # domain, and the subscribers using a number as caller ID.
    "CREATE INDEX IF NOT EXISTS subscriber_domain_idx ON subscriber (domain)",
    "CREATE INDEX IF NOT EXISTS subscriber_caller_id_idx ON subscriber (caller_id)",
    "CREATE INDEX IF NOT EXISTS htable_alias_domain_idx "
    "ON htable_alias (split_part(key_name, ':', 1))",
    *(f"CREATE INDEX IF NOT EXISTS {name}_domain_idx ON {name} (split_part(key_value, '@', 2))"
      for name in ("htable_did", "htable_sms")),
)

_HTABLE_KEY = ("key_name",)
_HTABLE_VALUES = ("key_type", "value_type", "key_value", "expires")

# In the order the export writes them; the key is what identifies a row across exports.
EXPORTED: tuple[Table, ...] = (
    Table("domain", ("domain",), ("did",), ("domain.reload", ())),
    Table("domain_attrs", ("did", "name"), ("type", "value"), ("domain.reload", ())),
    Table("subscriber", ("username", "domain"),
          ("password", "ha1", "ha1b", "enabled", "cc", "ac", "caller_id", "sgid", "max_calls",
           "ring_timeout", "display", "fwd_all", "fwd_busy", "fwd_noanswer"), None),
    Table("dialplan", ("dpid", "pr"),
          ("match_op", "match_exp", "match_len", "subst_exp", "repl_exp", "attrs"),
          ("dialplan.reload", ())),
    Table("dr_gateways", ("gwid",), ("type", "address", "strip", "pri_prefix", "attrs",
                                     "description"), ("drouting.reload", ()), id_column="gwid"),
    Table("dr_rules", ("groupid", "prefix"),
          ("timerec", "priority", "routeid", "gwlist", "description"),
          ("drouting.reload", ()), id_column="ruleid"),
    Table("address", ("grp", "ip_addr", "mask", "port"), ("tag",),
          ("permissions.addressReload", ())),
    Table("htable_alias", _HTABLE_KEY, _HTABLE_VALUES, ("htable.reload", ("alias",))),
    Table("htable_did", _HTABLE_KEY, _HTABLE_VALUES, ("htable.reload", ("did",))),
    Table("htable_sg", _HTABLE_KEY, _HTABLE_VALUES, ("htable.reload", ("sg",))),
    Table("htable_sms", _HTABLE_KEY, _HTABLE_VALUES, ("htable.reload", ("sms",))),
)
BY_NAME = {table.name: table for table in EXPORTED}


def create_tables(connection: psycopg.Connection) -> list[str]:
    """Create what is missing (tables, columns, indexes, version rows); returns what it made.

    Safe to run on every export and on a database Kamailio already uses.
    """
    created: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        existing = {row[0] for row in cursor.fetchall()}
        for name, (body, _version) in DDL.items():
            if name not in existing:
                cursor.execute(f"CREATE TABLE {name} ({body}\n)")
                created.append(name)
        for name, columns in _ADDED_COLUMNS.items():
            for column in columns:
                cursor.execute(f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {column}")
        for statement in _INDEXES:
            cursor.execute(statement)
        cursor.executemany(
            "INSERT INTO version (table_name, table_version) VALUES (%s, %s) "
            "ON CONFLICT (table_name) DO NOTHING",
            [(name, version) for name, (_body, version) in DDL.items()])
    return created


def missing_versions(connection: psycopg.Connection) -> list[str]:
    """Tables whose ``version`` row is absent or different: Kamailio would refuse them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, table_version FROM version")
        present: dict[str, Any] = dict(cursor.fetchall())
    return [name for name, (_body, version) in DDL.items() if present.get(name) != version]
