"""The ``wehostvoip`` command.

Every failure a person can fix (a bad setting, an unreachable database or
broker, a database that needs migrating) ends the command with one line on
stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import functools
import gc
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from core import migrations
from core.database import is_sqlite, make_sync_engine
from core.logs import configure_logging
from core.models import JobStatus
from core.settings import ConfigurationError, Settings, load_settings
from core.version import product_version
from workers import context as worker_context
from workers.broker import BrokerUnavailableError, check_connection, describe, install_broker

log = logging.getLogger("wehostvoip")

P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILURE = 1
EXIT_CONFIGURATION = 2


class CommandError(click.ClickException):
    """A failure the operator can act on: printed as one line, exit code 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"wehostvoip: {self.message}", err=True)


def friendly_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors an operator can fix into one line and an exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConfigurationError as error:
            click.echo(f"wehostvoip: configuration error: {error}", err=True)
            sys.exit(EXIT_CONFIGURATION)
        except BrokerUnavailableError as error:
            raise CommandError(str(error)) from None
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise CommandError(f"database error: {reason}") from None

    return wrapper


def _settings() -> Settings:
    from core.passwords import use_cost

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    use_cost(settings.password_hash_cost)
    return settings


def _migrate(settings: Settings) -> None:
    engine = make_sync_engine(settings.resolved_database_url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()


def _require_database_file(settings: Settings) -> None:
    """A SQLite file that is not there: say where it was looked for, and why there.

    The data directory is relative to the working directory, so the same command
    run from another directory looks for another file.
    """
    url = make_url(settings.resolved_database_url)
    if not is_sqlite(settings.resolved_database_url) or not url.database:
        return
    path = Path(url.database)
    if path.exists():
        return
    raise CommandError(
        f"no database at {path} (WEHOSTVOIP_DATA_DIR={settings.data_dir} is relative to the "
        f"working directory, {Path.cwd()}): run the command in the directory where `serve` "
        "or `migrate` created it, set WEHOSTVOIP_DATA_DIR or WEHOSTVOIP_DATABASE_URL, "
        "or create a new database here with `wehostvoip migrate`"
    )


def _require_migrated(settings: Settings) -> None:
    _require_database_file(settings)
    engine = make_sync_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            if not migrations.is_up_to_date(connection):
                raise CommandError(
                    "the database is not at the latest schema revision; run `wehostvoip migrate`"
                )
    finally:
        engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(product_version(), prog_name="wehostvoip")
def cli() -> None:
    """WeHostVoIP control plane: the GraphQL API, background workers and scheduler.

    Settings come from WEHOSTVOIP_* environment variables or a .env file; with
    none set, everything runs in one process on a SQLite file (see README.md).
    """


@cli.command()
@click.option("--host", help="Address to listen on (default: WEHOSTVOIP_LISTEN_HOST).")
@click.option("--port", type=int, help="Port to listen on (default: WEHOSTVOIP_LISTEN_PORT).")
@friendly_errors
def serve(host: str | None, port: int | None) -> None:
    """Serve the API (GraphQL at /graphql, /healthz, /readyz).

    On the embedded default (SQLite, stub:// broker) this one process also
    creates and migrates the database and runs the background worker and the
    scheduler. Against PostgreSQL the database must already be migrated
    (`wehostvoip migrate`), and workers and the scheduler run as their own
    processes (`wehostvoip worker`, `wehostvoip scheduler`).
    """
    from workers.signals import termination_event

    # First of all: from here on one SIGTERM/SIGINT stops whatever has started so far.
    stop = termination_event()

    from api.app import create_app
    from cli.serving import PortUnavailableError, bind, serve_until_stopped, url_of
    from workers.runtime import start_scheduler_thread, start_worker, stop_worker

    settings = _settings()
    if is_sqlite(settings.resolved_database_url):
        _migrate(settings)
    else:
        _require_migrated(settings)
    if stop.is_set():
        return
    host = host if host is not None else settings.listen_host
    port = port if port is not None else settings.listen_port
    try:
        sock = bind(host, port)
    except PortUnavailableError as error:
        click.echo(f"wehostvoip: {error}", err=True)
        sys.exit(EXIT_CONFIGURATION)
    base = url_of(sock, host)
    settings = _public_url_follows(settings, base)
    worker = None
    try:
        broker = install_broker(settings.broker_url)
        check_connection(broker)
        worker_context.configure(settings)
        if settings.in_process_broker and not stop.is_set():
            from workers.jobs import reconcile

            worker = start_worker(broker, threads=2)
            reconcile()  # jobs queued before a restart run now, not at the next reconcile tick
            start_scheduler_thread(stop)
        app = create_app(settings)
        if stop.is_set():
            return
        click.echo(f"WeHostVoIP {product_version()} serving on {base}")
        if settings.graphiql_enabled:
            click.echo(f"GraphiQL: open {settings.public_base_url}/graphql in a browser")
        serve_until_stopped(app, sock, stop)
    finally:
        stop.set()
        sock.close()
        if worker is not None:
            stop_worker(worker)


def _public_url_follows(settings: Settings, served: str) -> Settings:
    """On the embedded default, the public URL is where this process actually serves.

    Links in e-mails, download links and the CSRF origin check all use it, so a
    ``--port`` that the URL did not follow broke every browser mutation. In
    production the public URL is a required setting and stays what it says.
    """
    if not settings.embedded or "public_base_url" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"public_base_url": served})


@cli.command()
@friendly_errors
def migrate() -> None:
    """Upgrade the database schema to the latest revision (safe to run again)."""
    settings = _settings()
    _migrate(settings)
    click.echo(f"database at revision {migrations.head_revision()}")


@cli.command()
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Messages processed at once by this process.",
)
@click.option("--metrics-port", type=click.IntRange(1, 65535),
              help="Serve this worker's job metrics (Prometheus) on this port.")
@click.option("--metrics-address", default="127.0.0.1", show_default=True,
              help="Address the metrics port listens on.")
@friendly_errors
def worker(threads: int, metrics_port: int | None, metrics_address: str) -> None:
    """Process background jobs from the broker until SIGTERM.

    For the scaled set-up (WEHOSTVOIP_BROKER_URL=redis://... or amqp://...);
    with the in-process broker, `serve` runs the worker itself.
    """
    from workers.signals import termination_event

    stop = termination_event()  # first: a signal at any later moment stops the worker
    from workers.runtime import start_worker, stop_worker

    settings = _settings()
    if settings.in_process_broker:
        raise CommandError(
            "the in-process broker (stub://) has no separate workers; "
            "set WEHOSTVOIP_BROKER_URL to redis://... or amqp://..., or use `wehostvoip serve`"
        )
    broker = install_broker(settings.broker_url)
    check_connection(broker)
    worker_context.configure(settings)
    click.echo(f"worker connected to {describe(settings.broker_url)}")
    if metrics_port is not None:
        from prometheus_client import start_http_server

        # The worker's own counters (job attempts, run and queue times); the API's
        # /metrics has the database's view of the queues.
        start_http_server(metrics_port, addr=metrics_address)
    # What is loaded by now (the app's modules, SQLAlchemy's, dramatiq's: ~170,000 objects)
    # lives as long as the process; frozen, the garbage collector's full collections stop
    # walking it. Measured on a loaded machine: each took 100-300 ms, and a 50,000-user
    # discovery and import ran nine of them.
    gc.collect()
    gc.freeze()
    running = start_worker(broker, threads=threads)
    stop.wait()
    stop_worker(running)
    broker.close()


@cli.command()
@friendly_errors
def scheduler() -> None:
    """Start periodic background work until SIGTERM (run one per deployment)."""
    from workers.signals import termination_event

    stop = termination_event()  # first: a signal at any later moment stops the scheduler
    from workers.runtime import run_scheduler

    settings = _settings()
    if settings.in_process_broker:
        raise CommandError(
            "the in-process broker (stub://) runs its scheduler inside `wehostvoip serve`; "
            "set WEHOSTVOIP_BROKER_URL to redis://... or amqp://..."
        )
    broker = install_broker(settings.broker_url)
    check_connection(broker)
    worker_context.configure(settings)
    click.echo(f"scheduler connected to {describe(settings.broker_url)}")
    run_scheduler(stop)
    broker.close()


@cli.group()
def admin() -> None:
    """Manage administrators from the command line."""


@admin.command("create")
@click.option("--email", required=True, help="E-mail address to log in with.")
@click.option("--name", "full_name", default="", help="Full name.")
@click.option("--platform", is_flag=True, required=True,
              help="Make a platform operator (the only kind created here; ISPs sign up).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input instead of prompting.")
@friendly_errors
def admin_create(email: str, full_name: str, platform: bool, password_stdin: bool) -> None:
    """Create a platform operator (or give an existing account the platform role)."""
    from core.database import session_scope
    from core.errors import DomainError
    from core.operators import create_platform_operator

    settings = _settings()
    _require_migrated(settings)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = make_sync_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            create_platform_operator(session, email=email, password=password,
                                     full_name=full_name)
    except DomainError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    click.echo(f"platform operator {email.strip().lower()} created")


@cli.group()
def jobs() -> None:
    """Background jobs: list them, follow one."""


@jobs.command("list")
@click.option("--status", type=click.Choice([s.value for s in JobStatus]), help="Only this status.")
@click.option("--kind", help="Only this kind, e.g. email.deliver.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@friendly_errors
def jobs_list(status: str | None, kind: str | None, limit: int) -> None:
    """The newest jobs, with their progress and attempts."""
    from cli.jobs import list_jobs

    settings = _settings()
    _require_migrated(settings)
    engine = make_sync_engine(settings.resolved_database_url)
    try:
        list_jobs(engine, status=status, kind=kind, limit=limit)
    finally:
        engine.dispose()


@jobs.command("watch")
@click.argument("job_id")
@friendly_errors
def jobs_watch(job_id: str) -> None:
    """Follow a job (uuid or global id) with a live progress bar until it ends.

    Exits 0 when it succeeded, 1 when it failed or was cancelled.
    """
    from cli.jobs import parse_job_id, watch_job

    settings = _settings()
    _require_migrated(settings)
    engine = make_sync_engine(settings.resolved_database_url)
    try:
        ended = watch_job(engine, parse_job_id(job_id))
    finally:
        engine.dispose()
    if ended is not JobStatus.SUCCEEDED:
        sys.exit(EXIT_FAILURE)


@cli.group()
def routing() -> None:
    """The SIP proxies' tables: create them, export to them, see how far each proxy is."""


@routing.command("init-db")
@click.argument("database_url")
@friendly_errors
def routing_init_db(database_url: str) -> None:
    """Create Kamailio's tables (and version rows) in DATABASE_URL, as the export writes them.

    Safe on a database that has them already. Exports do this by themselves too.
    """
    from cli.routing import init_db

    init_db(database_url)


@routing.command("export")
@click.option("--dry-run", is_flag=True, help="Print the difference, write nothing.")
@click.option("-v", "--verbose", is_flag=True, help="Also print the rows that change.")
@friendly_errors
def routing_export(dry_run: bool, verbose: bool) -> None:
    """Export the routing tables to every enabled proxy's database now, and reload them.

    Exits 1 when an export was refused or failed, or a proxy did not reload.
    """
    from cli.routing import export
    from core.secrets import secret_box

    settings = _settings()
    _require_migrated(settings)
    engine = make_sync_engine(settings.resolved_database_url)
    try:
        ok = export(engine, secret_box(settings.secret_key_bytes()), dry_run=dry_run,
                    verbose=verbose)
    finally:
        engine.dispose()
    if not ok:
        sys.exit(EXIT_FAILURE)


@routing.command("status")
@friendly_errors
def routing_status() -> None:
    """Each proxy's applied export generation against its database's current one."""
    from cli.routing import status

    settings = _settings()
    _require_migrated(settings)
    engine = make_sync_engine(settings.resolved_database_url)
    try:
        status(engine)
    finally:
        engine.dispose()


@cli.group()
def schema() -> None:
    """The GraphQL schema as SDL (schema.graphql is committed and checked by the tests)."""


@schema.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True), default="schema.graphql")
def schema_export(path: str) -> None:
    """Write the GraphQL schema to PATH (default: schema.graphql; "-" for stdout)."""
    from schema import build_schema

    sdl = build_schema().as_str() + "\n"
    if path == "-":
        click.echo(sdl, nl=False)
        return
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(sdl)
    click.echo(f"schema written to {path}")


def main() -> None:
    cli()
