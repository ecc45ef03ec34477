"""``GET /metrics``: Prometheus text format, for the platform's operators only.

With ``WEHOSTVOIP_METRICS_TOKEN`` set, the scraper sends ``Authorization: Bearer
<token>``; without one, only loopback clients are answered (a scrape from the
same host, or through a sidecar). Anyone else gets 404, as if there were no
such endpoint.

Two kinds of figures: what processes count as they work (requests, operations,
job attempts, reloads: ``core/telemetry.py``, added up over processes when
``PROMETHEUS_MULTIPROC_DIR`` is set), and what the database knows, read when
scraped (:class:`StateCollector`): jobs by kind and status, directory sync per
tenant, the routing export and each proxy, the e-mail outbox.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import os
from collections.abc import Iterator

import anyio
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.authentication import client_address
from core.database import make_sync_engine
from core.models import (
    DirectoryLink,
    EmailMessage,
    EmailStatus,
    Job,
    RoutingChanges,
    RoutingDatabase,
    SipProxy,
    utcnow,
)
from core.settings import Settings


def _seconds_since(moment: dt.datetime | None, now: dt.datetime) -> float:
    return (now - moment).total_seconds() if moment else float("nan")


class StateCollector(Collector):
    """Gauges read from the database at each scrape (a handful of small queries)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        with Session(self.engine) as session:
            yield from self._jobs(session)
            yield from self._directory(session, now)
            yield from self._routing(session, now)
            outbox = session.execute(select(func.count()).select_from(EmailMessage).where(
                col(EmailMessage.status) == EmailStatus.PENDING)).scalar_one()
        yield GaugeMetricFamily("wehostvoip_email_outbox_depth",
                                "E-mail messages waiting to be sent.", value=outbox)

    def _jobs(self, session: Session) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("wehostvoip_jobs", "Jobs by kind and status.",
                                 labels=["kind", "status"])
        for kind, status, count in session.execute(
                select(col(Job.kind), col(Job.status), func.count())
                .group_by(col(Job.kind), col(Job.status))):
            jobs.add_metric([kind, status.value], count)
        yield jobs

    def _directory(self, session: Session, now: dt.datetime) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            "wehostvoip_directory_sync_last_success_timestamp_seconds",
            "When each tenant's directory was last synced successfully.",
            labels=["tenant", "provider"])
        lag = GaugeMetricFamily("wehostvoip_directory_sync_lag_seconds",
                                "Seconds since each tenant's last successful sync.",
                                labels=["tenant", "provider"])
        failing = GaugeMetricFamily("wehostvoip_directory_sync_error",
                                    "1 while a tenant's link shows an error.",
                                    labels=["tenant", "provider", "code"])
        processed = GaugeMetricFamily("wehostvoip_directory_sync_users_processed",
                                      "Users the tenant's last sync run went through.",
                                      labels=["tenant", "provider"])
        last_runs = dict(session.execute(
            select(col(Job.subject_id), col(Job.progress_done))
            .where(col(Job.kind) == "directory.sync")
            .order_by(col(Job.created_at))).all())
        for link in session.execute(select(DirectoryLink)).scalars():
            labels = [str(link.tenant_id), link.provider.value]
            if link.last_synced_at:
                success.add_metric(labels, link.last_synced_at.timestamp())
                lag.add_metric(labels, _seconds_since(link.last_synced_at, now))
            failing.add_metric([*labels, link.last_error_code or ""],
                               1 if link.last_error_code else 0)
            processed.add_metric(labels, last_runs.get(str(link.id), 0))
        yield from (success, lag, failing, processed)

    def _routing(self, session: Session, now: dt.datetime) -> Iterator[Metric]:
        generation = GaugeMetricFamily("wehostvoip_routing_generation",
                                       "The latest export generation of each proxy database.",
                                       labels=["database"])
        pending = GaugeMetricFamily("wehostvoip_routing_export_pending",
                                    "1 while changes wait to be exported to a database.",
                                    labels=["database"])
        applied = GaugeMetricFamily("wehostvoip_routing_proxy_applied_generation",
                                    "The generation each proxy last reloaded.",
                                    labels=["proxy"])
        behind = GaugeMetricFamily("wehostvoip_routing_proxy_seconds_out_of_step",
                                   "0 when a proxy routes by the latest export, else the "
                                   "seconds since it last did.", labels=["proxy"])
        changes = session.get(RoutingChanges, 1)
        requested = changes.requested if changes else 0
        databases = {row.key: row for row in session.execute(select(RoutingDatabase)).scalars()}
        for key, row in databases.items():
            generation.add_metric([key[:12]], row.generation)
            pending.add_metric([key[:12]], 1 if row.covered_request < requested else 0)
        for proxy in session.execute(select(SipProxy).where(col(SipProxy.enabled))).scalars():
            database = databases.get(proxy.database_key)
            current = database.generation if database else 0
            applied.add_metric([proxy.name], proxy.applied_generation)
            behind.add_metric([proxy.name], 0 if proxy.applied_generation >= current else
                              _seconds_since(proxy.last_success_at or proxy.created_at, now))
        yield from (generation, pending, applied, behind)


class _ThisProcess(Collector):
    """This process's own counters and histograms (no multiprocess directory)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class Metrics:
    """The /metrics endpoint of one app: its registry and who may read it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    def _registry(self) -> CollectorRegistry:
        if self._engine is None:
            self._engine = make_sync_engine(self.settings.resolved_database_url)
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.MultiProcessCollector(registry)  # every process's counters
        else:
            registry.register(_ThisProcess())
        registry.register(StateCollector(self._engine))
        return registry

    def allowed(self, request: Request) -> bool:
        token = self.settings.metrics_token
        if token is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), token.get_secret_value().encode())
        try:
            return ipaddress.ip_address(client_address(request)).is_loopback
        except ValueError:
            return False

    async def handle(self, request: Request) -> Response:
        if not self.allowed(request):
            return Response("not found", status_code=404)
        body = await anyio.to_thread.run_sync(lambda: generate_latest(self._registry()))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def metrics_routes(settings: Settings) -> tuple[list[Route], Metrics]:
    endpoint = Metrics(settings)
    return [Route("/metrics", endpoint.handle, methods=["GET"])], endpoint
