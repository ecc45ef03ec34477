"""``wehostvoip routing``: the proxies' tables from the operator's shell."""

from __future__ import annotations

import click
import psycopg
from sqlalchemy import Engine, select
from sqlmodel import Session

from core.models import RoutingDatabase, SipProxy
from core.secrets import SecretBox
from routing_export import exporter
from routing_export.desired import InvalidStateError
from routing_export.tables import create_tables

DETAIL_ROWS = 20


def init_db(url: str) -> None:
    try:
        with psycopg.connect(url, connect_timeout=10) as connection:
            created = create_tables(connection)
    except psycopg.Error as error:
        from cli.main import CommandError

        reason = str(error).strip().splitlines()[0]
        raise CommandError(f"proxy database: {reason}") from None
    click.echo(f"created {', '.join(created)}" if created else "all tables were there already")


def _show_details(report: exporter.ExportReport) -> None:
    for diff in report.diffs:
        changes = ([("+", row) for row in diff.inserts]
                   + [("~", row) for _row_id, row in diff.updates]
                   + [("-", (f"row id {row_id}",)) for row_id in diff.deletes])
        for sign, row in changes[:DETAIL_ROWS]:
            click.echo(f"  {diff.table.name} {sign} {row}")
        if len(changes) > DETAIL_ROWS:
            click.echo(f"  {diff.table.name} ... {len(changes) - DETAIL_ROWS} more")


def export(engine: Engine, box: SecretBox, *, dry_run: bool, verbose: bool) -> bool:
    """Export every proxy database; False when one failed."""
    keys = exporter.database_keys(engine)
    if not keys:
        click.echo("no enabled SIP proxy: nothing to export")
        return True
    ok = True
    for key in keys:
        click.echo(f"database {key[:12]}:")
        try:
            report = exporter.export(engine, box, key, dry_run=dry_run, full=True)
        except InvalidStateError as error:
            click.echo("  refused, nothing written:", err=True)
            for problem in error.problems:
                click.echo(f"    {problem}", err=True)
            ok = False
            continue
        except (exporter.ExportError, psycopg.Error) as error:
            click.echo(f"  failed: {str(error).strip().splitlines()[0]}", err=True)
            ok = False
            continue
        for line in report.describe().splitlines():
            click.echo(f"  {line}")
        if verbose or dry_run:
            _show_details(report)
        ok = ok and not any(outcome.error for outcome in report.proxies)
    return ok


def status(engine: Engine) -> None:
    with Session(engine) as session:
        proxies = session.execute(select(SipProxy).order_by(SipProxy.name)).scalars().all()
        databases = {row.key: row for row in session.execute(select(RoutingDatabase)).scalars()}
    if not proxies:
        click.echo("no SIP proxies")
        return
    click.echo(f"{'PROXY':20}  {'ENABLED':7}  {'APPLIED':>7}  {'CURRENT':>7}  LAST ERROR")
    for proxy in proxies:
        database = databases.get(proxy.database_key)
        current = database.generation if database else 0
        click.echo(f"{proxy.name[:20]:20}  {'yes' if proxy.enabled else 'no':7}  "
                   f"{proxy.applied_generation:>7}  {current:>7}  {proxy.last_error or ''}")
