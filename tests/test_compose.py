"""compose.yaml, the scaled deployment, checked without needing Docker.

The file is read as YAML and its structure checked against what the
processes need: start-up order, health checks, replicas, one shared image,
production settings that really validate, and commands the CLI knows. When
the Docker Compose plugin is installed, ``docker compose config`` checks it too.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import os
import re
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from cli.main import cli
from core.settings import ENV_PREFIX, Environment, Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "compose.yaml"

APP_SERVICES = ("migrate", "api", "worker", "scheduler")
AFTER_MIGRATE = ("api", "worker", "scheduler")
LONG_RUNNING = ("postgres", "redis", "api", "worker", "scheduler")
MANDATORY_IN_PRODUCTION = (
    "WEHOSTVOIP_DATABASE_URL",
    "WEHOSTVOIP_SECRET_KEYS",
    "WEHOSTVOIP_BASE_DOMAIN",
    "WEHOSTVOIP_PUBLIC_BASE_URL",
    "WEHOSTVOIP_BROKER_URL",
)
# What an operator exports before `docker compose up`.
OPERATOR_ENV = {
    "WEHOSTVOIP_SECRET_KEYS": "22" * 32 + "," + "33" * 32,
    "WEHOSTVOIP_SMTP_HOST": "smtp.example.net",
}
# `wehostvoip worker` waits this long for running messages on SIGTERM
# (workers.runtime.stop_worker); Docker must not kill it sooner.
WORKER_STOP_SECONDS = 30

# Compose interpolation: $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?error}, ${NAME?error}, ${NAME:+alternative}, ${NAME+alternative}.
_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<operator>:?[-?+])(?P<argument>[^}$]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariableError(Exception):
    """A ${NAME:?message} variable was not set."""


@cache
def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _service(name: str) -> dict[str, Any]:
    return _compose()["services"][name]


def _strings(node: Any) -> list[str]:
    """Every string value in the document (Compose interpolates values only)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for value in node.values() for text in _strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in _strings(value)]
    return []


def _interpolate_text(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        operator, argument = match["operator"], match["argument"] or ""
        is_set, non_empty = name in env, bool(env.get(name))
        if operator in {":?", "?"} and not (non_empty if operator == ":?" else is_set):
            raise MissingVariableError(f"{name}: {argument}")
        if operator in {":-", "-"} and not (non_empty if operator == ":-" else is_set):
            return argument
        if operator in {":+", "+"}:
            return argument if (non_empty if operator == ":+" else is_set) else ""
        return env.get(name, "")

    return _INTERPOLATION.sub(replace, text)


def _interpolate(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return _interpolate_text(node, env)
    if isinstance(node, dict):
        return {key: _interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolate(value, env) for value in node]
    return node


def _container_environment(service: str, operator_env: dict[str, str]) -> dict[str, str]:
    """The environment a container of ``service`` gets, as Compose resolves it."""
    resolved = _interpolate(_compose(), operator_env)["services"][service]
    environment: dict[str, str] = {}
    for name, value in resolved.get("environment", {}).items():
        if value is None:  # listed without a value: passed through when set
            if name in operator_env:
                environment[name] = operator_env[name]
        else:
            environment[name] = str(value)
    return environment


def _settings_from(environment: dict[str, str]) -> Settings:
    fields = {
        name.removeprefix(ENV_PREFIX).lower(): value
        for name, value in environment.items()
        if name.startswith(ENV_PREFIX)
    }
    return Settings(_env_file=None, **fields)


def _replicas(service: str) -> int:
    return _service(service).get("deploy", {}).get("replicas", 1)


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert parts, f"not a Compose duration: {duration!r}"
    assert "".join(number + unit for number, unit in parts) == duration
    return sum(float(number) * units[unit] for number, unit in parts)


def _python_check(service: str) -> str | None:
    """The code of a ``python -c`` health check, if that is what it is."""
    test = _service(service)["healthcheck"]["test"]
    if test[:3] == ["CMD", "python", "-c"]:
        return test[3]
    return None


# Services and start-up order -------------------------------------------------


def test_the_deployment_has_every_service():
    assert set(_compose()["services"]) >= {*LONG_RUNNING, "migrate"}


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_long_running_services_have_a_health_check(service: str):
    healthcheck = _service(service).get("healthcheck")
    assert healthcheck, f"{service} has no healthcheck"
    assert not healthcheck.get("disable", False)
    test = healthcheck["test"]
    assert isinstance(test, list)
    assert test[0] in {"CMD", "CMD-SHELL"}
    assert len(test) > 1
    assert all(isinstance(part, str) and part for part in test)
    for key in ("interval", "timeout"):
        assert _seconds(healthcheck[key]) > 0
    assert _seconds(healthcheck["timeout"]) <= _seconds(healthcheck["interval"])
    assert healthcheck["retries"] >= 1


@pytest.mark.parametrize("service", [s for s in LONG_RUNNING if s in APP_SERVICES])
def test_python_health_checks_are_valid_python(service: str):
    code = _python_check(service)
    assert code is not None, f"{service} should check its health with the image's python"
    tree = compile(code, f"<{service} healthcheck>", "exec", ast.PyCF_ONLY_AST)
    # What it imports exists (the project's packages or the standard library),
    # and it uses no name it did not import.
    defined = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
                defined.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
                defined.add(alias.asname or alias.name.split(".")[0])
    used = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    assert used <= defined, f"undefined names: {sorted(used - defined)}"


def test_the_api_is_healthy_when_ready():
    code = _python_check("api")
    assert code is not None
    port = _container_environment("api", OPERATOR_ENV)["WEHOSTVOIP_LISTEN_PORT"]
    assert f"http://127.0.0.1:{port}/readyz" in code


def test_workers_and_scheduler_check_the_broker_with_their_own_settings():
    for service in ("worker", "scheduler"):
        code = _python_check(service)
        assert code is not None
        assert "check_connection" in code
        assert "load_settings" in code


def test_migrate_runs_once_after_postgres_is_healthy():
    migrate = _service("migrate")
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"
    assert _replicas("migrate") == 1
    assert "healthcheck" not in migrate
    assert "ports" not in migrate


@pytest.mark.parametrize("service", AFTER_MIGRATE)
def test_services_start_after_migration_and_a_healthy_broker(service: str):
    depends_on = _service(service)["depends_on"]
    assert isinstance(depends_on, dict), "the long form is needed to state conditions"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["redis"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_long_running_services_restart(service: str):
    assert _service(service)["restart"] in {"always", "unless-stopped", "on-failure"}


def test_stateful_services_keep_their_data_in_named_volumes():
    volumes = _compose()["volumes"]
    for service, path in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        mounts = dict(mount.split(":", 1) for mount in _service(service)["volumes"])
        assert path in mounts.values(), f"{service} keeps no data in {path}"
        source = next(name for name, target in mounts.items() if target == path)
        assert source in volumes


# Replicas ----------------------------------------------------------------------


def test_exactly_one_scheduler():
    assert _replicas("scheduler") == 1
    assert "ports" not in _service("scheduler")


def test_several_api_replicas_each_with_its_own_published_port():
    replicas = _replicas("api")
    assert replicas > 1
    listen_port = _container_environment("api", OPERATOR_ENV)["WEHOSTVOIP_LISTEN_PORT"]
    (mapping,) = _service("api")["ports"]
    published, target = str(mapping).rsplit(":", 1)
    assert target == listen_port
    first, _, last = published.rsplit(":", 1)[-1].partition("-")
    assert last, f"the API publishes one port, not a range, for {replicas} replicas"
    assert int(last) - int(first) + 1 == replicas
    assert "container_name" not in _service("api")


def test_workers_scale_and_get_time_to_finish_their_messages():
    assert _replicas("worker") >= 1
    assert _seconds(_service("worker")["stop_grace_period"]) > WORKER_STOP_SECONDS


# One image, real commands ---------------------------------------------------------


def test_application_services_share_one_image():
    images = {_service(service)["image"] for service in APP_SERVICES}
    builds = [_service(service)["build"] for service in APP_SERVICES]
    assert len(images) == 1
    assert all(build == builds[0] for build in builds)
    context = (ROOT / builds[0]["context"]).resolve()
    assert context == ROOT
    assert (context / builds[0].get("dockerfile", "Dockerfile")).is_file()


def test_the_console_script_is_the_cli():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["wehostvoip"] == "cli.main:main"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_commands_are_real_cli_subcommands(service: str):
    command = _service(service)["command"]
    assert isinstance(command, list), "exec form, so the process gets SIGTERM itself"
    program, subcommand, *arguments = command
    assert program == "wehostvoip"
    assert subcommand in cli.commands
    # Parsing (without running) rejects unknown options and bad values.
    cli.commands[subcommand].make_context(subcommand, list(arguments))


def test_each_service_runs_its_own_command():
    subcommands = {service: _service(service)["command"][1] for service in APP_SERVICES}
    assert subcommands == {
        "migrate": "migrate",
        "api": "serve",
        "worker": "worker",
        "scheduler": "scheduler",
    }


# Settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("service", APP_SERVICES)
def test_production_settings_are_all_there(service: str):
    environment = _service(service)["environment"]
    assert environment["WEHOSTVOIP_ENVIRONMENT"] == Environment.PRODUCTION.value
    for name in MANDATORY_IN_PRODUCTION:
        assert environment.get(name), f"{service} lacks {name}"
    assert environment["WEHOSTVOIP_LISTEN_HOST"] == "0.0.0.0"
    assert urlsplit(environment["WEHOSTVOIP_BROKER_URL"]).scheme in {"redis", "amqp"}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_environment_validates_as_production_settings(service: str):
    settings = _settings_from(_container_environment(service, OPERATOR_ENV))
    assert settings.environment is Environment.PRODUCTION
    assert urlsplit(settings.resolved_database_url).hostname == "postgres"
    assert urlsplit(settings.broker_url).hostname == "redis"
    assert not settings.in_process_broker
    assert settings.secret_key_bytes() == [bytes.fromhex("22" * 32), bytes.fromhex("33" * 32)]
    # A setting listed without a value comes from the operator's environment.
    assert settings.smtp_host == "smtp.example.net"


def test_the_database_password_is_the_same_for_postgres_and_the_services():
    env = {**OPERATOR_ENV, "WEHOSTVOIP_POSTGRES_PASSWORD": "s3cret"}
    database_url = _container_environment("api", env)["WEHOSTVOIP_DATABASE_URL"]
    postgres = _container_environment("postgres", env)
    url = urlsplit(database_url)
    assert url.password == postgres["POSTGRES_PASSWORD"] == "s3cret"
    assert url.username == postgres["POSTGRES_USER"]
    assert url.path == "/" + postgres["POSTGRES_DB"]


def test_the_secret_keys_must_come_from_the_operator():
    env = {name: value for name, value in OPERATOR_ENV.items() if name != "WEHOSTVOIP_SECRET_KEYS"}
    with pytest.raises(MissingVariableError, match="WEHOSTVOIP_SECRET_KEYS"):
        _interpolate(_compose(), env)


def test_every_interpolation_is_well_formed():
    for text in _strings(_compose()):
        leftover = _INTERPOLATION.sub("", text)
        assert "$" not in leftover, f"malformed interpolation in {text!r}"


def test_the_interpolation_checker_rejects_malformed_text():
    # A checker that accepts everything would prove nothing.
    for text in ("${}", "${1X}", "${X:~y}", "${X", "$", "price: 5$"):
        assert "$" in _INTERPOLATION.sub("", text), text
    for text in ("$$", "${X}", "$X", "${X:-a:b/c}", "${X:?set X}", "${X-}"):
        assert "$" not in _INTERPOLATION.sub("", text), text


# The image ------------------------------------------------------------------------------


def test_the_image_holds_every_package():
    dockerfile = (ROOT / "Dockerfile").read_text()
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for pattern in setuptools["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert re.search(rf"^COPY {package} ", dockerfile, re.MULTILINE), package
    assert re.search(r"^USER (?!root\b|0\b)\S+", dockerfile, re.MULTILINE)
    assert 'CMD ["wehostvoip", "serve"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv", "var"} <= set(ignored)


# Docker itself, when installed ---------------------------------------------------------


def _docker_compose_problem() -> str | None:
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    try:
        subprocess.run(
            ["docker", "compose", "version"], check=True, capture_output=True, timeout=30
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        return f"`docker compose version` failed ({error}): the Compose plugin is missing"
    return None


def test_docker_compose_accepts_the_file():
    problem = _docker_compose_problem()
    if problem is not None:
        pytest.skip(f"cannot run `docker compose config`: {problem}")
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **OPERATOR_ENV},
        check=False,
    )
    assert result.returncode == 0, result.stderr


# The SIP proxy ---------------------------------------------------------------------


def test_the_proxy_tables_are_created_before_kamailio_starts():
    tables = _service("kamailio-tables")
    program, *arguments = tables["command"]
    assert program == "wehostvoip"
    assert arguments[:2] == ["routing", "init-db"]
    cli.commands["routing"].commands["init-db"].make_context("init-db", arguments[2:])
    assert tables["restart"] == "no"
    kamailio = _service("kamailio")
    assert kamailio["depends_on"]["kamailio-tables"]["condition"] == (
        "service_completed_successfully")


def test_kamailio_reads_the_database_the_tables_were_created_in():
    tables_url = _service("kamailio-tables")["command"][-1]
    kamailio = _service("kamailio")
    command = kamailio["command"]
    pairs = list(zip(command[::2], command[1::2], strict=True))
    defines = dict(value.split("=", 1) for flag, value in pairs if flag == "-A")
    assert {flag for flag, _value in pairs} == {"-A", "-m", "-M"}
    # The URL (and its password) is in the environment, which kamailio.cfg reads,
    # not on the command line.
    assert "DBURL" not in defines
    assert not any("postgres://" in part for part in command)
    database_url = kamailio["environment"]["KAMAILIO_DBURL"]
    assert database_url.split("@", 1)[1] == tables_url.split("@", 1)[1]
    assert "#!trydefenvs DBURL=KAMAILIO_DBURL" in (
        ROOT / "routing_export" / "kamailio" / "kamailio.cfg").read_text()
    assert "CREATE DATABASE kamailio" in _compose()["configs"]["kamailio-database"]["content"]


def test_kamailio_runs_unprivileged_with_a_health_check_its_shell_can_run():
    dockerfile = (ROOT / _service("kamailio")["build"]["context"] / "Dockerfile").read_text()
    assert "\nUSER kamailio\n" in dockerfile
    test = _service("kamailio")["healthcheck"]["test"]
    # Debian's /bin/sh is dash, which has no /dev/tcp: CMD-SHELL would always fail.
    assert test[:3] == ["CMD", "bash", "-c"]
    assert "core.version" in test[3]
    assert "Content-Length: 48" in test[3]
    body = test[3].split("\\r\\n\\r\\n", 1)[1].split("'", 1)[0]
    assert len(body) == 48


@pytest.mark.parametrize("service", ["api", "worker", "scheduler", "migrate", "kamailio"])
def test_locally_built_images_are_not_pulled(service: str):
    assert _service(service)["pull_policy"] == "build"


def test_kamailio_runs_the_shipped_configuration():
    context = ROOT / _service("kamailio")["build"]["context"]
    dockerfile = (context / "Dockerfile").read_text()
    assert (context / "kamailio.cfg").is_file()
    assert "COPY kamailio.cfg" in dockerfile
    assert "kamailio-postgres-modules" in dockerfile


def test_kamailio_gets_the_memory_the_tests_and_benchmarks_run_it_with():
    # Sized for 1,000,000 subscribers and 2,000,000 DIDs (benchmarks/proxy_sizing.py); the
    # e2e harness starts Kamailio with the same figures, so the tests run what ships.
    from tests.e2e.proxy import MEMORY_MANAGER, PKG_MB, SHM_MB

    pairs = dict(zip(_service("kamailio")["command"][::2], _service("kamailio")["command"][1::2],
                     strict=True))
    assert (pairs["-m"], pairs["-M"]) == (str(SHM_MB), str(PKG_MB))
    dockerfile = (ROOT / _service("kamailio")["build"]["context"] / "Dockerfile").read_text()
    assert f'"-x", "{MEMORY_MANAGER}", "-m", "{SHM_MB}", "-M", "{PKG_MB}"]' in dockerfile
