"""Configuration of the whole service, read once from the environment.

Every setting has the prefix ``WEHOSTVOIP_`` and may also come from a ``.env``
file in the working directory. The embedded default (SQLite, in-process broker)
needs no setting at all; ``WEHOSTVOIP_ENVIRONMENT=production`` makes the
settings that must not be guessed in production mandatory.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.dns_names import DnsNameError, normalise_fqdn, parse_resolver
from core.passwords import PasswordHashCost

ENV_PREFIX = "WEHOSTVOIP_"
SECRET_KEY_FILE = "secret.key"


# The settings that must not be guessed in production.
PRODUCTION_REQUIRED = ("database_url", "secret_keys", "base_domain", "public_base_url")


class Environment(StrEnum):
    EMBEDDED = "embedded"
    PRODUCTION = "production"


class ConfigurationError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def _split_list(value: object) -> object:
    """Lists come as comma-separated strings from the environment."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        extra="ignore",
        validate_default=True,
    )

    environment: Environment = Environment.EMBEDDED
    data_dir: Path = Field(
        default=Path("var"),
        description="Where the embedded default keeps its SQLite file and generated secret key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; sqlite:///... or postgresql://... "
        "(default: a SQLite file in the data directory).",
    )
    broker_url: str = Field(
        default="stub://",
        description="stub:// (in-process), redis://... or amqp://...",
    )
    base_domain: str = Field(
        default="wehostvoip.localhost",
        description="Platform base domain; ISP namespaces are <label>.<base domain>.",
    )
    secret_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated keys, newest first: the first signs and encrypts, "
        "all are accepted for reading. Each is at least 32 bytes, base64 or hex encoded.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The URL browsers and providers reach the API at.",
    )
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    graphiql: bool | None = Field(
        default=None, description="GraphiQL in the browser (default: on only when embedded)."
    )
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_from: str = "WeHostVoIP <no-reply@wehostvoip.localhost>"
    # Google Workspace: the platform's OAuth client (a "Web application" client in
    # Google Cloud) and the endpoints, which tests and compatible servers replace.
    google_client_id: str = ""
    google_client_secret: SecretStr | None = None
    google_auth_uri: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_uri: str = "https://oauth2.googleapis.com/token"
    google_api_endpoint: str = "https://admin.googleapis.com"
    google_certs_uri: str = "https://www.googleapis.com/oauth2/v3/certs"
    # Push notifications (users.watch): on by default when the API is public over HTTPS,
    # which Google requires of webhook addresses.
    google_push: bool | None = None
    # Microsoft Entra: the platform's multi-tenant application, and the login
    # authority and Graph hosts (national clouds differ); an optional CA bundle.
    microsoft_client_id: str = ""
    microsoft_client_secret: SecretStr | None = None
    microsoft_authority_host: str = "https://login.microsoftonline.com"
    microsoft_graph_url: str = "https://graph.microsoft.com"
    microsoft_ca_bundle: Path | None = None
    directory_sync_interval_minutes: int = Field(
        default=60, ge=1, le=10080,
        description="Default re-sync interval of a newly linked directory.",
    )
    gateway_loopback: bool | None = Field(
        default=None,
        description="Accept carrier gateways on loopback addresses (127.0.0.0/8, ::1), "
        "e.g. a carrier simulator beside the proxy (default: on only when embedded).",
    )
    log_level: str = "INFO"
    # "json" for log collectors, "text" for people; "auto": JSON unless stderr is a terminal.
    log_format: str = Field(default="auto", pattern="^(auto|json|text)$")
    # /metrics (Prometheus): with a token, it asks for "Authorization: Bearer <token>";
    # without one, it answers loopback clients only (an internal scrape on the same host).
    metrics_token: SecretStr | None = None
    # Query cost: the most one request may cost, and each viewer's budget, refilled
    # continuously (in Redis when the broker is Redis, else in this process).
    query_cost_limit: int = Field(default=5_000, ge=1)
    query_budget: int = Field(default=50_000, ge=1,
                              description="Points a viewer may spend at once (the bucket).")
    query_budget_refill_per_second: float = Field(default=500.0, gt=0)
    max_mutations_per_request: int = Field(default=20, ge=1)
    # Trusted documents: only operations registered in this JSON file ({id: document})
    # run, asked for by id ({"documentId": ...}); for production SPAs.
    trusted_documents_file: Path | None = None
    app_base_url: str | None = Field(
        default=None,
        description="URL of the web app that e-mailed links open (default: public base URL).",
    )
    console_dir: Path = Field(
        default=Path(__file__).resolve().parent.parent / "web" / "dist",
        description="The built web console (web/dist), served at /.",
    )
    graphql_introspection: bool | None = Field(
        default=None, description="Schema introspection (default: on only when embedded)."
    )
    session_idle_minutes: int = Field(default=120, ge=5, le=7 * 24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=30 * 24)
    signup_link_hours: int = Field(default=24, ge=1, le=7 * 24)
    invitation_link_days: int = Field(default=7, ge=1, le=30)
    logo_max_bytes: int = Field(default=256 * 1024, ge=1024, le=5 * 1024 * 1024)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of the load balancers in front of the API, "
        "comma-separated: only their X-Forwarded-For / X-Forwarded-Proto are believed "
        "(default: none, every request's address is the connection's).",
    )
    # Request bodies: JSON (and anything else), and multipart uploads (whose largest file,
    # a 32 MiB rate deck, must fit with the other parts).
    max_request_bytes: int = Field(default=1024 * 1024, ge=16 * 1024)
    max_upload_request_bytes: int = Field(default=40 * 1024 * 1024, ge=1024 * 1024)
    dns_resolvers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Resolvers for domain verification as ip or ip:port, comma-separated "
        "(default: the system's).",
    )
    dns_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    domain_pending_days: int = Field(
        default=7, ge=1, le=90,
        description="How long a domain waiting for its TXT record is re-checked.",
    )
    domain_lapse_grace_days: int = Field(
        default=30, ge=0, le=365,
        description="How long a lapsed domain stays reserved for the ISP that verified it.",
    )
    job_stale_seconds: int = Field(
        default=30, ge=1, le=3600,
        description="A running job whose heartbeat is older than this lost its worker.",
    )
    routing_reconcile_seconds: int = Field(
        default=300, ge=10, le=86400,
        description="How often every proxy database is compared with the control plane "
        "and rows changed by hand are put back.",
    )
    routing_debounce_seconds: float = Field(
        default=0.05, ge=0, le=10,
        description="How long an export waits for more changes before it reads them.",
    )
    password_hash_cost: PasswordHashCost = Field(
        default=PasswordHashCost.STANDARD,
        description="argon2id work per administrator password; minimal is for test suites "
        "only and refused in production.",
    )
    job_resend_seconds: int = Field(
        default=120, ge=0, le=86400,
        description="A queued job not started this long after its message was sent is resent.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = urlsplit(value).scheme.split("+")[0]
        if scheme not in {"sqlite", "postgresql", "postgres"}:
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _check_broker_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in {"stub", "redis", "rediss", "amqp", "amqps"}:
            raise ValueError("must be stub://, redis://, rediss://, amqp:// or amqps://")
        return value

    @field_validator("base_domain")
    @classmethod
    def _check_base_domain(cls, value: str) -> str:
        try:
            return normalise_fqdn(value)
        except DnsNameError as error:
            raise ValueError(str(error)) from None

    @field_validator("secret_keys", mode="before")
    @classmethod
    def _split_secret_keys(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("secret_keys")
    @classmethod
    def _check_secret_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        for position, key in enumerate(value, start=1):
            try:
                decoded = decode_key(key.get_secret_value())
            except ValueError as error:
                raise ValueError(f"key {position} {error}") from None
            if len(decoded) < 32:
                raise ValueError(f"key {position} must decode to at least 32 bytes")
        return value

    @field_validator("public_base_url", "app_base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network like "
                                 "10.0.0.0/8") from None
        return value

    @field_validator("dns_resolvers", mode="before")
    @classmethod
    def _split_resolvers(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("dns_resolvers")
    @classmethod
    def _check_resolvers(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                parse_resolver(entry)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not ip, ip:port or [ipv6]:port"
                ) from None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path:
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @model_validator(mode="after")
    def _require_production_settings(self) -> Settings:
        if self.environment is not Environment.PRODUCTION:
            return self
        # Every problem at once: an operator fixing them one start at a time is slow.
        missing = [f"{ENV_PREFIX}{name.upper()}" for name in PRODUCTION_REQUIRED
                   if name not in self.model_fields_set]
        problems = []
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            problems.append(f"{', '.join(missing)} {verb} required in production")
        if self.broker_url.startswith("stub:"):
            problems.append(f"{ENV_PREFIX}BROKER_URL must name Redis or RabbitMQ in production")
        if self.password_hash_cost is not PasswordHashCost.STANDARD:
            problems.append(f"{ENV_PREFIX}PASSWORD_HASH_COST must be standard in production")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Derived values --------------------------------------------------------

    @property
    def embedded(self) -> bool:
        return self.environment is Environment.EMBEDDED

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'wehostvoip.db').resolve()}"

    @property
    def graphiql_enabled(self) -> bool:
        return self.embedded if self.graphiql is None else self.graphiql

    @property
    def gateway_loopback_allowed(self) -> bool:
        return self.embedded if self.gateway_loopback is None else self.gateway_loopback

    @property
    def introspection_enabled(self) -> bool:
        if self.graphql_introspection is None:
            return self.embedded
        return self.graphql_introspection

    @property
    def google_push_enabled(self) -> bool:
        if self.google_push is not None:
            return self.google_push
        return self.public_base_url.startswith("https://")

    @property
    def links_base_url(self) -> str:
        """Where links in e-mails point: the web app."""
        return self.app_base_url or self.public_base_url

    @property
    def allowed_origins(self) -> set[str]:
        """Origins whose browsers may send state-changing requests."""
        origins = {_origin(self.public_base_url), *self.cors_origins}
        if self.app_base_url:
            origins.add(_origin(self.app_base_url))
        if self.embedded:
            # On this machine's loopback, localhost and 127.0.0.1 are the same server
            # to the person typing either into a browser.
            origins |= {_loopback_twin(origin) for origin in origins}
        return origins

    @property
    def cookie_secure(self) -> bool:
        return self.public_base_url.startswith("https://")

    @property
    def in_process_broker(self) -> bool:
        return self.broker_url.startswith("stub:")

    def secret_key_bytes(self) -> list[bytes]:
        """The secret keys as bytes, newest first.

        The embedded default generates a key on first use and keeps it in the
        data directory, so a restart can still read what it encrypted.
        """
        if self.secret_keys:
            return [decode_key(key.get_secret_value()) for key in self.secret_keys]
        return [_embedded_secret_key(self.data_dir)]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_LOOPBACK_TWINS = {"localhost": "127.0.0.1", "127.0.0.1": "localhost"}


def _loopback_twin(origin: str) -> str:
    """http://localhost:8000 for http://127.0.0.1:8000 and back; any other origin as it is."""
    parts = urlsplit(origin)
    twin = _LOOPBACK_TWINS.get(parts.hostname or "")
    if twin is None:
        return origin
    return f"{parts.scheme}://{twin}" + (f":{parts.port}" if parts.port else "")


def decode_key(text: str) -> bytes:
    """Accept a key written as hex or as (urlsafe) base64."""
    text = text.strip()
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    standard = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is neither hex nor base64") from None


def _embedded_secret_key(data_dir: Path) -> bytes:
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not each write a key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    return decode_key(path.read_text())


def describe_validation_error(error: ValidationError) -> str:
    """One line that names the first offending setting."""
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ()) if part != "__root__"]
    message = first["msg"].removeprefix("Value error, ")
    if location:
        return f"{ENV_PREFIX}{location[0].upper()}: {message}"
    return message


def load_settings() -> Settings:
    """Read the settings, turning any validation failure into one clear line."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return load_settings()
