"""The retry loop both directory adapters use (sync/retry.py), driven by scripted attempts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sync.directory import ConsentRevokedError, DirectoryUnavailableError
from sync.retry import RetryLater, RetryPolicy, StaleCredentials, with_retries


def policy(slept: list[float], *, max_attempts: int = 4, max_wait: float = 60) -> RetryPolicy:
    return RetryPolicy(max_attempts=max_attempts, max_wait=max_wait, sleep=slept.append,
                       backoff=lambda attempt: 2.0 ** attempt,
                       unavailable=lambda problem, attempts: f"{problem} x{attempts}")


def scripted(*outcomes: Exception | str, seen: list[bool]) -> Callable[[bool], str]:
    """An attempt that raises or answers the outcomes in turn, noting ``fresh`` each time."""
    queue: Iterator[Exception | str] = iter(outcomes)

    def attempt(fresh: bool) -> str:
        seen.append(fresh)
        outcome = next(queue)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return attempt


def test_waits_the_providers_retry_after_else_backs_off() -> None:
    slept: list[float] = []
    seen: list[bool] = []
    answer = with_retries(scripted(RetryLater("429", retry_after=7), RetryLater("503"),
                                   "ok", seen=seen), policy(slept))
    assert answer == "ok"
    assert slept == [7, 4.0]  # Retry-After, then the backoff of the second attempt
    assert seen == [False, False, False]


def test_gives_up_after_the_last_attempt_with_the_wait() -> None:
    slept: list[float] = []
    with pytest.raises(DirectoryUnavailableError) as raised:
        with_retries(scripted(*[RetryLater("500")] * 3, seen=[]),
                     policy(slept, max_attempts=3))
    assert str(raised.value) == "500 x3"
    assert raised.value.retry_after == 8.0
    assert slept == [2.0, 4.0]


def test_a_wait_longer_than_a_worker_sleeps_is_given_back_at_once() -> None:
    slept: list[float] = []
    with pytest.raises(DirectoryUnavailableError) as raised:
        with_retries(scripted(RetryLater("429", retry_after=300), seen=[]), policy(slept))
    assert raised.value.retry_after == 300
    assert slept == []


def test_stale_credentials_get_one_fresh_attempt_not_counted() -> None:
    slept: list[float] = []
    seen: list[bool] = []
    revoked = ConsentRevokedError("refused")
    answer = with_retries(scripted(StaleCredentials(revoked), RetryLater("503"), "ok",
                                   seen=seen), policy(slept, max_attempts=2))
    assert answer == "ok"
    assert seen == [False, True, False]  # fresh only right after the refusal
    assert slept == [2.0]


def test_refused_again_after_fresh_credentials_is_revoked() -> None:
    revoked = ConsentRevokedError("refused")
    with pytest.raises(ConsentRevokedError) as raised:
        with_retries(scripted(StaleCredentials(revoked), StaleCredentials(revoked),
                              seen=[]), policy([]))
    assert raised.value is revoked


def test_other_failures_pass_through_untouched() -> None:
    with pytest.raises(KeyError):
        with_retries(scripted(KeyError("x"), seen=[]), policy([]))


def test_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        policy([], max_attempts=0)
