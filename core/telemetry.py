"""The metrics every process records (Prometheus), defined once.

Counters and histograms are updated where things happen: the API's requests
(``api/observability.py``), GraphQL operations (``schema/core/observability.py``),
jobs (``workers/jobs.py``), proxy reloads (``routing_export``). When several
processes run on one host, set ``PROMETHEUS_MULTIPROC_DIR`` to a directory
they share (emptied at start): prometheus-client then writes each process's
values there and ``/metrics`` adds them up. What the database knows (queue
depths, directory sync and routing state, the e-mail outbox) is read at scrape
time instead (``api/metrics.py``), so it is right whichever process asks.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Seconds; fine steps below a second, where an API lives.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

HTTP_REQUESTS = Counter("wehostvoip_http_requests_total", "HTTP requests answered.",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("wehostvoip_http_request_seconds", "Time to answer an HTTP request.",
                         ["method", "route"], buckets=LATENCY_BUCKETS)
GRAPHQL_OPERATIONS = Counter("wehostvoip_graphql_operations_total", "GraphQL operations run.",
                             ["operation", "type", "outcome"])
GRAPHQL_LATENCY = Histogram("wehostvoip_graphql_operation_seconds",
                            "Time to run a GraphQL operation.", ["operation", "type"],
                            buckets=LATENCY_BUCKETS)
JOBS_FINISHED = Counter("wehostvoip_jobs_finished_total",
                        "Job attempts that ended, by how they ended.", ["kind", "outcome"])
JOB_QUEUE_WAIT = Histogram("wehostvoip_job_queue_wait_seconds",
                           "From a job's creation (or its retry time) to its start.", ["kind"],
                           buckets=JOB_BUCKETS)
JOB_RUN_TIME = Histogram("wehostvoip_job_run_seconds", "Time one job attempt ran.", ["kind"],
                         buckets=JOB_BUCKETS)
PROXY_RELOAD_FAILURES = Counter("wehostvoip_routing_reload_failures_total",
                                "Proxy reloads that failed.", ["proxy"])


def operation_label(name: str | None) -> str:
    """Operation names come from clients: keep them short and tame for a label."""
    if not name:
        return "anonymous"
    cleaned = "".join(ch for ch in name if ch.isalnum() or ch == "_")[:64]
    return cleaned or "anonymous"
