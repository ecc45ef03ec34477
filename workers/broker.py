"""The message broker, chosen by URL: in-process (stub), Redis or RabbitMQ."""

from __future__ import annotations

from urllib.parse import urlsplit

import dramatiq
from dramatiq.brokers.stub import StubBroker


class BrokerUnavailableError(Exception):
    """The broker could not be reached; the message says where and why."""


def make_broker(url: str) -> dramatiq.Broker:
    scheme = urlsplit(url).scheme
    if scheme == "stub":
        return StubBroker()
    if scheme in {"redis", "rediss"}:
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url)
    if scheme in {"amqp", "amqps"}:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise ValueError(f"unsupported broker URL scheme {scheme!r}")


_installed: tuple[str, dramatiq.Broker] | None = None


def install_broker(url: str) -> dramatiq.Broker:
    """Make the broker for ``url`` the process-wide one that actors send through.

    Installing the same URL again keeps the broker already installed, so the
    API and an in-process worker share one.
    """
    global _installed
    if _installed is not None and _installed[0] == url:
        return _installed[1]
    from workers.registry import bind_actors

    broker = make_broker(url)
    dramatiq.set_broker(broker)
    bind_actors(broker)
    _installed = (url, broker)
    return broker


def check_connection(broker: dramatiq.Broker) -> None:
    """Fail fast, with one clear line, when the broker cannot be reached."""
    try:
        if hasattr(broker, "client"):  # Redis
            broker.client.ping()
        elif hasattr(broker, "connection"):  # RabbitMQ opens its connection lazily
            _ = broker.connection
    except Exception as error:  # the clients raise their own hierarchies
        raise BrokerUnavailableError(f"cannot reach the broker: {error}") from error


def describe(url: str) -> str:
    """The broker URL without credentials, for logs and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
