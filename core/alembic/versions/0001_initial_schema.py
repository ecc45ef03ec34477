"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 23:38:04.601447
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "administrator",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_administrator")),
        sa.UniqueConstraint("email", name=op.f("uq_administrator_email")),
    )
    op.create_table(
        "isp",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("namespace_label", sa.String(length=63), nullable=False),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_phone", sa.String(length=16), nullable=False),
        sa.Column("theme_primary_color", sa.String(length=7), nullable=True),
        sa.Column("theme_secondary_color", sa.String(length=7), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE", "SUSPENDED", name="isp_status", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.CheckConstraint("namespace_label <> ''", name=op.f("ck_isp_namespace_label_not_empty")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_isp_currency_iso4217")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_isp")),
        sa.UniqueConstraint("namespace_label", name=op.f("uq_isp_namespace_label")),
    )
    op.create_table(
        "carrier",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_carrier_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier")),
        sa.UniqueConstraint("isp_id", "name", name=op.f("uq_carrier_isp_id_name")),
    )
    op.create_index(op.f("ix_carrier_isp_id"), "carrier", ["isp_id"], unique=False)
    op.create_table(
        "dial_plan",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_dial_plan_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_plan")),
        sa.UniqueConstraint("isp_id", "name", name=op.f("uq_dial_plan_isp_id_name")),
    )
    op.create_index(op.f("ix_dial_plan_isp_id"), "dial_plan", ["isp_id"], unique=False)
    op.create_table(
        "service_plan",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "monthly_price_per_subscriber", sa.Numeric(precision=14, scale=4), nullable=False
        ),
        sa.Column("monthly_price_per_did", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("invoice_cutoff_day", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("prepaid", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "invoice_cutoff_day BETWEEN 1 AND 28", name=op.f("ck_service_plan_invoice_cutoff_day")
        ),
        sa.CheckConstraint("monthly_price_per_did >= 0", name=op.f("ck_service_plan_did_price")),
        sa.CheckConstraint(
            "monthly_price_per_subscriber >= 0", name=op.f("ck_service_plan_subscriber_price")
        ),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_service_plan_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_plan")),
        sa.UniqueConstraint("isp_id", "name", name=op.f("uq_service_plan_isp_id_name")),
    )
    op.create_index(op.f("ix_service_plan_isp_id"), "service_plan", ["isp_id"], unique=False)
    op.create_table(
        "verified_domain",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=False),
        sa.Column("fqdn", sa.String(length=253), nullable=False),
        sa.Column("challenge_token", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "VERIFIED",
                "LAPSED",
                "FAILED",
                name="verified_domain_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_verified_domain_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verified_domain")),
        sa.UniqueConstraint("isp_id", "fqdn", name=op.f("uq_verified_domain_isp_id_fqdn")),
    )
    op.create_index(op.f("ix_verified_domain_fqdn"), "verified_domain", ["fqdn"], unique=False)
    op.create_index(op.f("ix_verified_domain_isp_id"), "verified_domain", ["isp_id"], unique=False)
    op.create_index(
        "uq_verified_domain_fqdn_verified",
        "verified_domain",
        ["fqdn"],
        unique=True,
        sqlite_where=sa.text("status = 'VERIFIED'"),
        postgresql_where=sa.text("status = 'VERIFIED'"),
    )
    op.create_table(
        "customer",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_phone", sa.String(length=16), nullable=False),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("service_plan_id", sa.Uuid(), nullable=True),
        sa.Column("max_subscribers", sa.Integer(), nullable=False),
        sa.Column("max_concurrent_calls", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE",
                "SUSPENDED",
                name="customer_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "max_concurrent_calls >= 0", name=op.f("ck_customer_max_concurrent_calls_not_negative")
        ),
        sa.CheckConstraint(
            "max_subscribers >= 0", name=op.f("ck_customer_max_subscribers_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_customer_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["service_plan_id"],
            ["service_plan.id"],
            name=op.f("fk_customer_service_plan_id_service_plan"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("isp_id", "name", name=op.f("uq_customer_isp_id_name")),
    )
    op.create_index(op.f("ix_customer_isp_id"), "customer", ["isp_id"], unique=False)
    op.create_index(
        op.f("ix_customer_service_plan_id"), "customer", ["service_plan_id"], unique=False
    )
    op.create_table(
        "dial_plan_rule",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dial_plan_id", sa.Uuid(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("match_expression", sa.String(length=256), nullable=False),
        sa.Column("substitution_expression", sa.String(length=256), nullable=False),
        sa.Column("replacement", sa.String(length=256), nullable=False),
        sa.CheckConstraint("priority >= 0", name=op.f("ck_dial_plan_rule_priority_not_negative")),
        sa.ForeignKeyConstraint(
            ["dial_plan_id"],
            ["dial_plan.id"],
            name=op.f("fk_dial_plan_rule_dial_plan_id_dial_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_plan_rule")),
        sa.UniqueConstraint(
            "dial_plan_id", "priority", name=op.f("uq_dial_plan_rule_dial_plan_id_priority")
        ),
    )
    op.create_index(
        op.f("ix_dial_plan_rule_dial_plan_id"), "dial_plan_rule", ["dial_plan_id"], unique=False
    )
    op.create_table(
        "gateway",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("strip", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("from_user", sa.String(length=64), nullable=False),
        sa.Column("from_display", sa.String(length=128), nullable=False),
        sa.Column("add_pai", sa.Boolean(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.CheckConstraint("port BETWEEN 1 AND 65535", name=op.f("ck_gateway_port_range")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_gateway_position_not_negative")),
        sa.CheckConstraint("strip >= 0", name=op.f("ck_gateway_strip_not_negative")),
        sa.ForeignKeyConstraint(
            ["carrier_id"],
            ["carrier.id"],
            name=op.f("fk_gateway_carrier_id_carrier"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway")),
        sa.UniqueConstraint(
            "carrier_id", "address", "port", name=op.f("uq_gateway_carrier_id_address_port")
        ),
        sa.UniqueConstraint("carrier_id", "position", name=op.f("uq_gateway_carrier_id_position")),
    )
    op.create_index(op.f("ix_gateway_carrier_id"), "gateway", ["carrier_id"], unique=False)
    op.create_table(
        "rate_deck_entry",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_plan_id", sa.Uuid(), nullable=False),
        sa.Column("rate_per_minute", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minimum_duration", sa.Integer(), nullable=False),
        sa.Column("increment", sa.Integer(), nullable=False),
        sa.Column("delay", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.CheckConstraint("delay >= 0", name=op.f("ck_rate_deck_entry_delay")),
        sa.CheckConstraint("increment >= 1", name=op.f("ck_rate_deck_entry_increment")),
        sa.CheckConstraint(
            "minimum_duration >= 0", name=op.f("ck_rate_deck_entry_minimum_duration")
        ),
        sa.CheckConstraint(
            "rate_per_minute >= 0", name=op.f("ck_rate_deck_entry_rate_not_negative")
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_rate_deck_entry_validity")
        ),
        sa.ForeignKeyConstraint(
            ["service_plan_id"],
            ["service_plan.id"],
            name=op.f("fk_rate_deck_entry_service_plan_id_service_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_deck_entry")),
    )
    op.create_index(
        "ix_rate_deck_entry_plan_prefix",
        "rate_deck_entry",
        ["service_plan_id", "prefix"],
        unique=False,
    )
    op.create_index(
        op.f("ix_rate_deck_entry_service_plan_id"),
        "rate_deck_entry",
        ["service_plan_id"],
        unique=False,
    )
    op.create_table(
        "service_deck_entry",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_plan_id", sa.Uuid(), nullable=False),
        sa.Column("rate_per_minute", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minimum_duration", sa.Integer(), nullable=False),
        sa.Column("increment", sa.Integer(), nullable=False),
        sa.Column("delay", sa.Integer(), nullable=False),
        sa.Column(
            "service",
            sa.Enum(
                "PSTN",
                "DID",
                "TOLL_FREE",
                "SIP",
                name="service",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("delay >= 0", name=op.f("ck_service_deck_entry_delay")),
        sa.CheckConstraint("increment >= 1", name=op.f("ck_service_deck_entry_increment")),
        sa.CheckConstraint(
            "minimum_duration >= 0", name=op.f("ck_service_deck_entry_minimum_duration")
        ),
        sa.CheckConstraint(
            "rate_per_minute >= 0", name=op.f("ck_service_deck_entry_rate_not_negative")
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_service_deck_entry_validity")
        ),
        sa.ForeignKeyConstraint(
            ["service_plan_id"],
            ["service_plan.id"],
            name=op.f("fk_service_deck_entry_service_plan_id_service_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_deck_entry")),
    )
    op.create_index(
        op.f("ix_service_deck_entry_service_plan_id"),
        "service_deck_entry",
        ["service_plan_id"],
        unique=False,
    )
    op.create_table(
        "smbc",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=253), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_smbc_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_smbc_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smbc")),
        sa.UniqueConstraint("isp_id", "name", name=op.f("uq_smbc_isp_id_name")),
    )
    op.create_index(op.f("ix_smbc_customer_id"), "smbc", ["customer_id"], unique=False)
    op.create_index(op.f("ix_smbc_isp_id"), "smbc", ["isp_id"], unique=False)
    op.create_table(
        "tenant",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("verified_domain_id", sa.Uuid(), nullable=True),
        sa.Column("carrier_id", sa.Uuid(), nullable=True),
        sa.Column("dial_plan_id", sa.Uuid(), nullable=True),
        sa.Column("default_country_code", sa.String(length=3), nullable=False),
        sa.Column("default_area_code", sa.String(length=8), nullable=False),
        sa.Column("provisioning_username", sa.String(length=64), nullable=False),
        sa.Column("provisioning_password_encrypted", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE",
                "SUSPENDED",
                name="tenant_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "default_country_code <> ''", name=op.f("ck_tenant_country_code_not_empty")
        ),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carrier.id"], name=op.f("fk_tenant_carrier_id_carrier")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_tenant_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["dial_plan_id"], ["dial_plan.id"], name=op.f("fk_tenant_dial_plan_id_dial_plan")
        ),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_tenant_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["verified_domain_id"],
            ["verified_domain.id"],
            name=op.f("fk_tenant_verified_domain_id_verified_domain"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant")),
        sa.UniqueConstraint("domain", name=op.f("uq_tenant_domain")),
    )
    op.create_index(op.f("ix_tenant_carrier_id"), "tenant", ["carrier_id"], unique=False)
    op.create_index(op.f("ix_tenant_customer_id"), "tenant", ["customer_id"], unique=False)
    op.create_index(op.f("ix_tenant_dial_plan_id"), "tenant", ["dial_plan_id"], unique=False)
    op.create_index(op.f("ix_tenant_isp_id"), "tenant", ["isp_id"], unique=False)
    op.create_index(
        op.f("ix_tenant_verified_domain_id"), "tenant", ["verified_domain_id"], unique=False
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_email", sa.String(length=254), nullable=False),
        sa.Column("actor_scope", sa.String(length=100), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("client_address", sa.String(length=45), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["administrator.id"],
            name=op.f("fk_audit_event_actor_id_administrator"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_audit_event_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_audit_event_tenant_id_tenant"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(op.f("ix_audit_event_actor_id"), "audit_event", ["actor_id"], unique=False)
    op.create_index(op.f("ix_audit_event_isp_id"), "audit_event", ["isp_id"], unique=False)
    op.create_index(
        "ix_audit_event_isp_occurred", "audit_event", ["isp_id", "occurred_at"], unique=False
    )
    op.create_index(
        "ix_audit_event_object", "audit_event", ["object_type", "object_id"], unique=False
    )
    op.create_index(op.f("ix_audit_event_tenant_id"), "audit_event", ["tenant_id"], unique=False)
    op.create_table(
        "directory_link",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(
                "GOOGLE",
                "MICROSOFT",
                name="directory_provider",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("external_tenant_id", sa.String(length=255), nullable=True),
        sa.Column("credentials_encrypted", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING_CONSENT",
                "ACTIVE",
                "CONSENT_REVOKED",
                "ERROR",
                name="directory_link_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("sync_interval_minutes", sa.Integer(), nullable=False),
        sa.Column("mapping_defaults", sa.JSON(), nullable=False),
        sa.Column("alias_start", sa.Integer(), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_code", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "alias_start IS NULL OR alias_start >= 0", name=op.f("ck_directory_link_alias_start")
        ),
        sa.CheckConstraint(
            "sync_interval_minutes >= 1", name=op.f("ck_directory_link_sync_interval")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_directory_link_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_link")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_directory_link_tenant_id")),
    )
    op.create_table(
        "job",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "QUEUED",
                "RUNNING",
                "SUCCEEDED",
                "FAILED",
                "CANCELLED",
                name="job_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("result_ref", sa.String(length=255), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_job_attempts")),
        sa.CheckConstraint("progress_done >= 0", name=op.f("ck_job_progress_done")),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_job_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["administrator.id"],
            name=op.f("fk_job_requested_by_id_administrator"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_job_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    op.create_index(op.f("ix_job_isp_id"), "job", ["isp_id"], unique=False)
    op.create_index(op.f("ix_job_requested_by_id"), "job", ["requested_by_id"], unique=False)
    op.create_index("ix_job_status_updated", "job", ["status", "updated_at"], unique=False)
    op.create_index(op.f("ix_job_tenant_id"), "job", ["tenant_id"], unique=False)
    op.create_index(
        "uq_job_active_kind_subject",
        "job",
        ["kind", "subject_type", "subject_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.create_table(
        "role_grant",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("administrator_id", sa.Uuid(), nullable=False),
        sa.Column(
            "scope",
            sa.Enum(
                "PLATFORM",
                "ISP",
                "CUSTOMER",
                "TENANT",
                name="scope",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "role",
            sa.Enum("ADMIN", "VIEWER", name="role", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("isp_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(scope = 'PLATFORM' AND isp_id IS NULL AND customer_id IS NULL AND tenant_id IS NULL) OR (scope = 'ISP' AND isp_id IS NOT NULL AND customer_id IS NULL AND tenant_id IS NULL) OR (scope = 'CUSTOMER' AND isp_id IS NOT NULL AND customer_id IS NOT NULL AND tenant_id IS NULL) OR (scope = 'TENANT' AND isp_id IS NOT NULL AND tenant_id IS NOT NULL AND customer_id IS NULL)",
            name=op.f("ck_role_grant_scope_matches_target"),
        ),
        sa.ForeignKeyConstraint(
            ["administrator_id"],
            ["administrator.id"],
            name=op.f("fk_role_grant_administrator_id_administrator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_role_grant_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_role_grant_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_role_grant_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grant")),
    )
    op.create_index(
        op.f("ix_role_grant_administrator_id"), "role_grant", ["administrator_id"], unique=False
    )
    op.create_index(op.f("ix_role_grant_customer_id"), "role_grant", ["customer_id"], unique=False)
    op.create_index(op.f("ix_role_grant_isp_id"), "role_grant", ["isp_id"], unique=False)
    op.create_index(op.f("ix_role_grant_tenant_id"), "role_grant", ["tenant_id"], unique=False)
    op.create_index(
        "uq_role_grant_customer",
        "role_grant",
        ["administrator_id", "customer_id"],
        unique=True,
        sqlite_where=sa.text("scope = 'CUSTOMER'"),
        postgresql_where=sa.text("scope = 'CUSTOMER'"),
    )
    op.create_index(
        "uq_role_grant_isp",
        "role_grant",
        ["administrator_id", "isp_id"],
        unique=True,
        sqlite_where=sa.text("scope = 'ISP'"),
        postgresql_where=sa.text("scope = 'ISP'"),
    )
    op.create_index(
        "uq_role_grant_platform",
        "role_grant",
        ["administrator_id"],
        unique=True,
        sqlite_where=sa.text("scope = 'PLATFORM'"),
        postgresql_where=sa.text("scope = 'PLATFORM'"),
    )
    op.create_index(
        "uq_role_grant_tenant",
        "role_grant",
        ["administrator_id", "tenant_id"],
        unique=True,
        sqlite_where=sa.text("scope = 'TENANT'"),
        postgresql_where=sa.text("scope = 'TENANT'"),
    )
    op.create_table(
        "security_group",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_security_group_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_group")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_security_group_tenant_id_name")),
    )
    op.create_index(
        op.f("ix_security_group_tenant_id"), "security_group", ["tenant_id"], unique=False
    )
    op.create_table(
        "tenant_smbc",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("smbc_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["smbc_id"], ["smbc.id"], name=op.f("fk_tenant_smbc_smbc_id_smbc")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_tenant_smbc_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "smbc_id", name=op.f("pk_tenant_smbc")),
        sa.UniqueConstraint(
            "tenant_id", "position", name=op.f("uq_tenant_smbc_tenant_id_position")
        ),
    )
    op.create_index(op.f("ix_tenant_smbc_smbc_id"), "tenant_smbc", ["smbc_id"], unique=False)
    op.create_table(
        "security_group_destination",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("security_group_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("prefix", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "(country IS NULL) <> (prefix IS NULL)",
            name=op.f("ck_security_group_destination_country_or_prefix"),
        ),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["security_group.id"],
            name=op.f("fk_security_group_destination_security_group_id_security_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_group_destination")),
        sa.UniqueConstraint(
            "security_group_id",
            "country",
            "prefix",
            name=op.f("uq_security_group_destination_security_group_id_country_prefix"),
        ),
    )
    op.create_index(
        op.f("ix_security_group_destination_security_group_id"),
        "security_group_destination",
        ["security_group_id"],
        unique=False,
    )
    op.create_table(
        "subscriber",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("sip_password_encrypted", sa.Text(), nullable=False),
        sa.Column("ha1", sa.String(length=64), nullable=False),
        sa.Column("ha1b", sa.String(length=64), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("country_code", sa.String(length=3), nullable=False),
        sa.Column("area_code", sa.String(length=8), nullable=False),
        sa.Column("voicemail_to_email", sa.Boolean(), nullable=False),
        sa.Column("caller_id", sa.String(length=16), nullable=True),
        sa.Column("alias", sa.String(length=16), nullable=True),
        sa.Column("security_group_id", sa.Uuid(), nullable=True),
        sa.Column("concurrent_calls", sa.Integer(), nullable=False),
        sa.Column("ring_timeout", sa.Integer(), nullable=False),
        sa.Column("call_group", sa.Integer(), nullable=True),
        sa.Column("pickup_group", sa.Integer(), nullable=True),
        sa.Column("forward_unconditional", sa.String(length=32), nullable=True),
        sa.Column("forward_busy", sa.String(length=32), nullable=True),
        sa.Column("forward_no_answer", sa.String(length=32), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "MANUAL",
                "GOOGLE",
                "MICROSOFT",
                name="subscriber_source",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE",
                "DISABLED",
                name="subscriber_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(source = 'MANUAL') OR (external_id IS NOT NULL)",
            name=op.f("ck_subscriber_synced_has_external_id"),
        ),
        sa.CheckConstraint("concurrent_calls >= 1", name=op.f("ck_subscriber_concurrent_calls")),
        sa.CheckConstraint(
            "ring_timeout BETWEEN 1 AND 600", name=op.f("ck_subscriber_ring_timeout")
        ),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["security_group.id"],
            name=op.f("fk_subscriber_security_group_id_security_group"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_subscriber_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber")),
        sa.UniqueConstraint("tenant_id", "alias", name=op.f("uq_subscriber_tenant_id_alias")),
        sa.UniqueConstraint("tenant_id", "username", name=op.f("uq_subscriber_tenant_id_username")),
    )
    op.create_index(
        op.f("ix_subscriber_security_group_id"), "subscriber", ["security_group_id"], unique=False
    )
    op.create_index(op.f("ix_subscriber_tenant_id"), "subscriber", ["tenant_id"], unique=False)
    op.create_index(
        "uq_subscriber_tenant_source_external_id",
        "subscriber",
        ["tenant_id", "source", "external_id"],
        unique=True,
        sqlite_where=sa.text("external_id IS NOT NULL"),
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.create_table(
        "number",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("isp_id", sa.Uuid(), nullable=False),
        sa.Column("e164", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column(
            "number_type",
            sa.Enum(
                "LOCAL", "TOLL_FREE", name="number_type", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("price", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("vendor_price", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("voice", sa.Boolean(), nullable=False),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "AVAILABLE",
                "ASSIGNED",
                "QUARANTINE",
                name="number_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("target_subscriber_id", sa.Uuid(), nullable=True),
        sa.Column("quarantine_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(state = 'ASSIGNED' AND tenant_id IS NOT NULL) OR (state <> 'ASSIGNED' AND tenant_id IS NULL AND target_subscriber_id IS NULL)",
            name=op.f("ck_number_assignment_matches_state"),
        ),
        sa.CheckConstraint(
            "(state = 'QUARANTINE') = (quarantine_until IS NOT NULL)",
            name=op.f("ck_number_quarantine_until"),
        ),
        sa.CheckConstraint("e164 LIKE '+%%'", name=op.f("ck_number_e164_plus")),
        sa.CheckConstraint(
            "price >= 0 AND vendor_price >= 0", name=op.f("ck_number_prices_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["isp_id"], ["isp.id"], name=op.f("fk_number_isp_id_isp"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["target_subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_number_target_subscriber_id_subscriber"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_number_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number")),
        sa.UniqueConstraint("e164", name=op.f("uq_number_e164")),
    )
    op.create_index(op.f("ix_number_isp_id"), "number", ["isp_id"], unique=False)
    op.create_index("ix_number_isp_state", "number", ["isp_id", "state"], unique=False)
    op.create_index(
        op.f("ix_number_target_subscriber_id"), "number", ["target_subscriber_id"], unique=False
    )
    op.create_index(op.f("ix_number_tenant_id"), "number", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_number_tenant_id"), table_name="number")
    op.drop_index(op.f("ix_number_target_subscriber_id"), table_name="number")
    op.drop_index("ix_number_isp_state", table_name="number")
    op.drop_index(op.f("ix_number_isp_id"), table_name="number")
    op.drop_table("number")
    op.drop_index(
        "uq_subscriber_tenant_source_external_id",
        table_name="subscriber",
        sqlite_where=sa.text("external_id IS NOT NULL"),
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_subscriber_tenant_id"), table_name="subscriber")
    op.drop_index(op.f("ix_subscriber_security_group_id"), table_name="subscriber")
    op.drop_table("subscriber")
    op.drop_index(
        op.f("ix_security_group_destination_security_group_id"),
        table_name="security_group_destination",
    )
    op.drop_table("security_group_destination")
    op.drop_index(op.f("ix_tenant_smbc_smbc_id"), table_name="tenant_smbc")
    op.drop_table("tenant_smbc")
    op.drop_index(op.f("ix_security_group_tenant_id"), table_name="security_group")
    op.drop_table("security_group")
    op.drop_index(
        "uq_role_grant_tenant",
        table_name="role_grant",
        sqlite_where=sa.text("scope = 'TENANT'"),
        postgresql_where=sa.text("scope = 'TENANT'"),
    )
    op.drop_index(
        "uq_role_grant_platform",
        table_name="role_grant",
        sqlite_where=sa.text("scope = 'PLATFORM'"),
        postgresql_where=sa.text("scope = 'PLATFORM'"),
    )
    op.drop_index(
        "uq_role_grant_isp",
        table_name="role_grant",
        sqlite_where=sa.text("scope = 'ISP'"),
        postgresql_where=sa.text("scope = 'ISP'"),
    )
    op.drop_index(
        "uq_role_grant_customer",
        table_name="role_grant",
        sqlite_where=sa.text("scope = 'CUSTOMER'"),
        postgresql_where=sa.text("scope = 'CUSTOMER'"),
    )
    op.drop_index(op.f("ix_role_grant_tenant_id"), table_name="role_grant")
    op.drop_index(op.f("ix_role_grant_isp_id"), table_name="role_grant")
    op.drop_index(op.f("ix_role_grant_customer_id"), table_name="role_grant")
    op.drop_index(op.f("ix_role_grant_administrator_id"), table_name="role_grant")
    op.drop_table("role_grant")
    op.drop_index(
        "uq_job_active_kind_subject",
        table_name="job",
        sqlite_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.drop_index(op.f("ix_job_tenant_id"), table_name="job")
    op.drop_index("ix_job_status_updated", table_name="job")
    op.drop_index(op.f("ix_job_requested_by_id"), table_name="job")
    op.drop_index(op.f("ix_job_isp_id"), table_name="job")
    op.drop_table("job")
    op.drop_table("directory_link")
    op.drop_index(op.f("ix_audit_event_tenant_id"), table_name="audit_event")
    op.drop_index("ix_audit_event_object", table_name="audit_event")
    op.drop_index("ix_audit_event_isp_occurred", table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_isp_id"), table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_actor_id"), table_name="audit_event")
    op.drop_table("audit_event")
    op.drop_index(op.f("ix_tenant_verified_domain_id"), table_name="tenant")
    op.drop_index(op.f("ix_tenant_isp_id"), table_name="tenant")
    op.drop_index(op.f("ix_tenant_dial_plan_id"), table_name="tenant")
    op.drop_index(op.f("ix_tenant_customer_id"), table_name="tenant")
    op.drop_index(op.f("ix_tenant_carrier_id"), table_name="tenant")
    op.drop_table("tenant")
    op.drop_index(op.f("ix_smbc_isp_id"), table_name="smbc")
    op.drop_index(op.f("ix_smbc_customer_id"), table_name="smbc")
    op.drop_table("smbc")
    op.drop_index(op.f("ix_service_deck_entry_service_plan_id"), table_name="service_deck_entry")
    op.drop_table("service_deck_entry")
    op.drop_index(op.f("ix_rate_deck_entry_service_plan_id"), table_name="rate_deck_entry")
    op.drop_index("ix_rate_deck_entry_plan_prefix", table_name="rate_deck_entry")
    op.drop_table("rate_deck_entry")
    op.drop_index(op.f("ix_gateway_carrier_id"), table_name="gateway")
    op.drop_table("gateway")
    op.drop_index(op.f("ix_dial_plan_rule_dial_plan_id"), table_name="dial_plan_rule")
    op.drop_table("dial_plan_rule")
    op.drop_index(op.f("ix_customer_service_plan_id"), table_name="customer")
    op.drop_index(op.f("ix_customer_isp_id"), table_name="customer")
    op.drop_table("customer")
    op.drop_index(
        "uq_verified_domain_fqdn_verified",
        table_name="verified_domain",
        sqlite_where=sa.text("status = 'VERIFIED'"),
        postgresql_where=sa.text("status = 'VERIFIED'"),
    )
    op.drop_index(op.f("ix_verified_domain_isp_id"), table_name="verified_domain")
    op.drop_index(op.f("ix_verified_domain_fqdn"), table_name="verified_domain")
    op.drop_table("verified_domain")
    op.drop_index(op.f("ix_service_plan_isp_id"), table_name="service_plan")
    op.drop_table("service_plan")
    op.drop_index(op.f("ix_dial_plan_isp_id"), table_name="dial_plan")
    op.drop_table("dial_plan")
    op.drop_index(op.f("ix_carrier_isp_id"), table_name="carrier")
    op.drop_table("carrier")
    op.drop_table("isp")
    op.drop_table("administrator")
