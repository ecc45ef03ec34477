"""Settings: defaults for the embedded case, and one clear line for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import ConfigurationError, Settings, load_settings

PRODUCTION = {
    "WEHOSTVOIP_ENVIRONMENT": "production",
    "WEHOSTVOIP_DATABASE_URL": "postgresql://db.internal/wehostvoip",
    "WEHOSTVOIP_BROKER_URL": "redis://redis.internal:6379/0",
    "WEHOSTVOIP_SECRET_KEYS": "ab" * 32,
    "WEHOSTVOIP_BASE_DOMAIN": "voip.example.net",
    "WEHOSTVOIP_PUBLIC_BASE_URL": "https://api.voip.example.net",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test sets counts: no inherited variables, no .env file."""
    import os

    for name in list(os.environ):
        if name.startswith("WEHOSTVOIP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _set(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_embedded_defaults_need_no_setting(tmp_path: Path):
    settings = load_settings()
    assert settings.embedded
    assert settings.in_process_broker
    assert settings.graphiql_enabled
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'var' / 'wehostvoip.db'}"
    assert settings.listen_host == "127.0.0.1"
    assert settings.listen_port == 8000


def test_embedded_secret_key_is_generated_once_and_kept(tmp_path: Path):
    first = load_settings().secret_key_bytes()
    second = load_settings().secret_key_bytes()
    assert first == second
    assert len(first[0]) == 32
    key_file = tmp_path / "var" / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_production_with_everything_set(monkeypatch: pytest.MonkeyPatch):
    _set(monkeypatch, PRODUCTION)
    settings = load_settings()
    assert not settings.embedded
    assert not settings.graphiql_enabled
    assert settings.cookie_secure
    assert settings.secret_key_bytes() == [bytes.fromhex("ab" * 32)]


@pytest.mark.parametrize(
    "missing",
    [
        "WEHOSTVOIP_DATABASE_URL",
        "WEHOSTVOIP_SECRET_KEYS",
        "WEHOSTVOIP_BASE_DOMAIN",
        "WEHOSTVOIP_PUBLIC_BASE_URL",
    ],
)
def test_production_names_the_missing_setting(monkeypatch: pytest.MonkeyPatch, missing: str):
    _set(monkeypatch, {k: v for k, v in PRODUCTION.items() if k != missing})
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert str(raised.value) == f"{missing} is required in production"


def test_production_refuses_the_in_process_broker(monkeypatch: pytest.MonkeyPatch):
    _set(monkeypatch, PRODUCTION | {"WEHOSTVOIP_BROKER_URL": "stub://"})
    with pytest.raises(ConfigurationError, match="WEHOSTVOIP_BROKER_URL must name Redis"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEHOSTVOIP_DATABASE_URL", "mysql://x/y", "must start with sqlite:// or postgresql://"),
        ("WEHOSTVOIP_BROKER_URL", "kafka://x", "must be stub://"),
        ("WEHOSTVOIP_BASE_DOMAIN", "not a domain", "not a valid domain name"),
        ("WEHOSTVOIP_BASE_DOMAIN", "*.example.com", "wildcard"),
        ("WEHOSTVOIP_SECRET_KEYS", "c2hvcnQ=", "key 1 must decode to at least 32 bytes"),
        ("WEHOSTVOIP_SECRET_KEYS", "zz!!" * 20, "key 1 is neither hex nor base64"),
        ("WEHOSTVOIP_PUBLIC_BASE_URL", "ftp://x", "absolute http:// or https:// URL"),
        ("WEHOSTVOIP_CORS_ORIGINS", "https://ok.example,app.example", "is not an origin"),
        ("WEHOSTVOIP_LISTEN_PORT", "70000", "less than or equal to 65535"),
        ("WEHOSTVOIP_LOG_LEVEL", "LOUD", "must be DEBUG"),
        ("WEHOSTVOIP_ENVIRONMENT", "staging", "embedded"),
    ],
)
def test_malformed_setting_gives_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"{name}: ")
    assert message in text


def test_base64_keys_are_accepted(monkeypatch: pytest.MonkeyPatch):
    import base64

    key = bytes(range(32))
    monkeypatch.setenv("WEHOSTVOIP_SECRET_KEYS", base64.urlsafe_b64encode(key).decode())
    assert load_settings().secret_key_bytes() == [key]


def test_lists_come_comma_separated(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WEHOSTVOIP_CORS_ORIGINS", "https://a.example, http://localhost:5173")
    monkeypatch.setenv("WEHOSTVOIP_SECRET_KEYS", f"{'cd' * 32},{'ab' * 32}")
    settings = load_settings()
    assert settings.cors_origins == ["https://a.example", "http://localhost:5173"]
    assert settings.secret_key_bytes() == [bytes.fromhex("cd" * 32), bytes.fromhex("ab" * 32)]


def test_base_domain_is_normalised_to_ascii(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WEHOSTVOIP_BASE_DOMAIN", "Bücher.Example.")
    assert load_settings().base_domain == "xn--bcher-kva.example"


def test_dotenv_file_is_read(tmp_path: Path):
    (tmp_path / ".env").write_text("WEHOSTVOIP_LISTEN_PORT=9001\n")
    assert Settings().listen_port == 9001


def test_embedded_loopback_origins_answer_to_both_names(monkeypatch: pytest.MonkeyPatch):
    _set(monkeypatch, {"WEHOSTVOIP_PUBLIC_BASE_URL": "http://127.0.0.1:8123"})
    assert {"http://127.0.0.1:8123", "http://localhost:8123"} <= load_settings().allowed_origins


def test_production_origins_are_only_what_is_configured(monkeypatch: pytest.MonkeyPatch):
    _set(monkeypatch, PRODUCTION | {"WEHOSTVOIP_PUBLIC_BASE_URL": "http://localhost:9000"})
    assert load_settings().allowed_origins == {"http://localhost:9000"}


def test_production_names_every_problem_at_once(monkeypatch: pytest.MonkeyPatch):
    _set(monkeypatch, {"WEHOSTVOIP_ENVIRONMENT": "production",
                       "WEHOSTVOIP_BASE_DOMAIN": "voip.example.net",
                       "WEHOSTVOIP_PASSWORD_HASH_COST": "minimal"})
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert str(raised.value) == (
        "WEHOSTVOIP_DATABASE_URL, WEHOSTVOIP_SECRET_KEYS, WEHOSTVOIP_PUBLIC_BASE_URL are "
        "required in production; WEHOSTVOIP_BROKER_URL must name Redis or RabbitMQ in "
        "production; WEHOSTVOIP_PASSWORD_HASH_COST must be standard in production")
