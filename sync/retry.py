"""One provider request with retries: the loop the Google and Microsoft adapters share.

An adapter describes one attempt (``attempt(fresh)``) and what its failures mean, by
raising:

- :class:`RetryLater`: throttled (429, 503, Google's 403 rate limits: the provider's
  Retry-After when it gave one) or failing (5xx, network): waited for, then tried
  again, up to ``max_attempts`` attempts; beyond them, or when asked to wait more than
  ``max_wait`` (a worker should not sleep that long), :class:`DirectoryUnavailableError`
  carries the wait, for the job to be retried later;
- :class:`StaleCredentials`: refused in a way a fresh token may cure (Microsoft's 401,
  Google's 403 forbidden): tried once more at once with ``fresh=True``, not counted as
  an attempt; refused again, the error it carries is raised (consent revoked);
- anything else: raised as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sync.directory import DirectoryError, DirectoryUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")


class RetryLater(Exception):  # noqa: N818 - an outcome of an attempt, not a failure
    """This attempt was throttled or failed; ``retry_after``: the provider's wait."""

    def __init__(self, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after


class StaleCredentials(Exception):  # noqa: N818 - an outcome of an attempt
    """Worth one more attempt with fresh credentials; else ``revoked`` is the answer."""

    def __init__(self, revoked: DirectoryError) -> None:
        super().__init__(str(revoked))
        self.revoked = revoked


@dataclass(frozen=True)
class RetryPolicy:
    """How one provider retries: ``backoff(attempt)`` when it gave no Retry-After,
    ``unavailable(problem, attempts)`` the message when giving up."""

    max_attempts: int
    max_wait: float
    backoff: Callable[[int], float]
    unavailable: Callable[[str, int], str]
    sleep: Callable[[float], object]

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


def with_retries(attempt: Callable[[bool], T], policy: RetryPolicy) -> T:
    """``attempt(fresh)`` until it answers, as the module docstring says."""
    attempts = 0
    fresh = refreshed = False
    while True:
        try:
            return attempt(fresh)
        except StaleCredentials as stale:
            if refreshed:
                raise stale.revoked from None
            fresh = refreshed = True
            continue
        except RetryLater as later:
            fresh = False
            attempts += 1
            wait = later.retry_after if later.retry_after is not None \
                else policy.backoff(attempts)
            if attempts >= policy.max_attempts or wait > policy.max_wait:
                raise DirectoryUnavailableError(policy.unavailable(later.problem, attempts),
                                                retry_after=wait) from None
            log.info("%s; attempt %d, retrying in %.1f s", later.problem, attempts, wait)
            policy.sleep(wait)
