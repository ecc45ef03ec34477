"""Each viewer's query budget: a token bucket of cost points, refilled continuously.

A viewer (an administrator, whatever the credential; else the client address)
may spend up to ``capacity`` points at once, and points come back at
``refill_per_second``. A request that costs more than is left is refused and
told how long to wait; a refused request spends nothing.

With Redis as the broker, the buckets live there, so every API process shares
them: one Lua script reads, refills and spends atomically, and a key expires
once its bucket would be full again (a missing key is a full bucket). Should
Redis be unreachable, each process falls back to its own buckets for a few
seconds rather than refuse everything. Otherwise the buckets are kept in this
process, behind a lock (the work under it is a few arithmetic operations).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.settings import Settings

log = logging.getLogger(__name__)

REDIS_KEY_PREFIX = "wehostvoip:query-budget:"
# How long a process uses its own buckets after Redis failed to answer.
REDIS_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 1.0
# How often the in-memory store forgets buckets that are full again.
SWEEP_SECONDS = 60.0
# Refills are floating-point sums: a bucket this close to the cost holds it.
EPSILON = 1e-6

Clock = Callable[[], float]


@dataclass(frozen=True)
class Spend:
    allowed: bool
    # Whole points left in the bucket after this request.
    remaining: int
    # Seconds until the points asked for are back (0 when allowed).
    retry_after: float = 0.0


class QueryBudget(ABC):
    def __init__(self, capacity: int, refill_per_second: float, clock: Clock) -> None:
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        # Tests replace the clock to see the bucket refill without waiting.
        self.clock = clock

    @abstractmethod
    async def spend(self, key: str, cost: int) -> Spend:
        """Take ``cost`` points from ``key``'s bucket if it holds that many."""

    async def remaining(self, key: str) -> int:
        return (await self.spend(key, 0)).remaining

    async def aclose(self) -> None:  # noqa: B027 - most budgets hold no connection
        """Let go of connections, if any (at shutdown)."""

    def _outcome(self, allowed: bool, tokens: float, cost: int) -> Spend:
        whole = math.floor(tokens + EPSILON)
        if allowed:
            return Spend(True, whole)
        wait = (cost - tokens) / self.refill_per_second
        return Spend(False, whole, math.ceil(wait * 1000) / 1000)


class MemoryBudget(QueryBudget):
    """Buckets in this process: for the embedded default and a single API process."""

    def __init__(self, capacity: int, refill_per_second: float,
                 clock: Clock = time.monotonic) -> None:
        super().__init__(capacity, refill_per_second, clock)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.capacity), now))
        return min(float(self.capacity), tokens + max(0.0, now - at) * self.refill_per_second)

    def take(self, key: str, cost: int) -> Spend:
        with self._lock:
            now = self.clock()
            self._sweep(now)
            tokens = self._level(key, now)
            allowed = tokens >= cost - EPSILON
            if allowed:
                tokens = max(0.0, tokens - cost)
            if tokens < self.capacity:
                self._buckets[key] = (tokens, now)
            else:
                self._buckets.pop(key, None)
        return self._outcome(allowed, tokens, cost)

    async def spend(self, key: str, cost: int) -> Spend:
        return self.take(key, cost)

    def _sweep(self, now: float) -> None:
        """Forget the buckets that are full again; they read the same as absent ones."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_SECONDS
        full = [key for key in self._buckets if self._level(key, now) >= self.capacity]
        for key in full:
            del self._buckets[key]


# KEYS[1]: the bucket; ARGV: capacity, refill per second, now (seconds), cost, epsilon.
# Returns {1 if spent else 0, the points left as a string} (Lua numbers would be truncated).
_SPEND_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local epsilon = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
  at = now
end
local allowed = 0
if tokens >= cost - epsilon then
  tokens = math.max(0, tokens - cost)
  allowed = 1
end
if tokens >= capacity then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
end
return {allowed, tostring(tokens)}
"""


class RedisBudget(QueryBudget):
    """Buckets in Redis, shared by every API process that uses the same Redis."""

    def __init__(self, url: str, capacity: int, refill_per_second: float,
                 clock: Clock = time.time, prefix: str = REDIS_KEY_PREFIX) -> None:
        # Wall-clock time: several hosts read and write the same buckets.
        super().__init__(capacity, refill_per_second, clock)
        self.url = url
        self.prefix = prefix
        # redis.asyncio connections belong to the event loop that opened them.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._fallback = MemoryBudget(capacity, refill_per_second, clock=lambda: self.clock())
        self._redis_down_until = 0.0

    def _script(self) -> Any:
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            from redis.asyncio import Redis

            client = Redis.from_url(self.url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                    socket_timeout=REDIS_TIMEOUT_SECONDS)
            self._clients[loop] = (client, client.register_script(_SPEND_SCRIPT))
        return self._clients[loop][1]

    async def aclose(self) -> None:
        """Close this event loop's connections (at shutdown)."""
        client, _ = self._clients.pop(asyncio.get_running_loop(), (None, None))
        if client is not None:
            await client.aclose()

    async def spend(self, key: str, cost: int) -> Spend:
        from redis.exceptions import RedisError

        now = self.clock()
        if time.monotonic() < self._redis_down_until:
            return await self._fallback.spend(key, cost)
        try:
            allowed, tokens = await self._script()(
                keys=[self.prefix + key],
                args=[self.capacity, repr(float(self.refill_per_second)), repr(now), cost,
                      repr(EPSILON)],
            )
        except (RedisError, OSError, TimeoutError) as error:
            log.warning("query budget: Redis unreachable (%s); using this process's buckets "
                        "for %.0f s", error, REDIS_RETRY_SECONDS)
            self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            return await self._fallback.spend(key, cost)
        return self._outcome(bool(int(allowed)), float(tokens), cost)


def is_redis_url(url: str) -> bool:
    return url.split(":", 1)[0] in {"redis", "rediss"}


def make_budget(settings: Settings) -> QueryBudget:
    """Redis when the broker is Redis, else this process's memory."""
    if is_redis_url(settings.broker_url):
        return RedisBudget(settings.broker_url, settings.query_budget,
                           settings.query_budget_refill_per_second)
    return MemoryBudget(settings.query_budget, settings.query_budget_refill_per_second)


def budget_key(context: object) -> str:
    """Whose bucket a request spends from: its administrator's, else its client address's."""
    viewer = getattr(context, "viewer", None)
    administrator_id = getattr(viewer, "administrator_id", None)
    if administrator_id is not None:
        return f"administrator:{administrator_id}"
    address = getattr(viewer, "client_address", "")
    if not address:
        request = getattr(context, "request", None)
        client = getattr(request, "client", None)
        address = client.host if client else ""
    return f"address:{address or 'unknown'}"
