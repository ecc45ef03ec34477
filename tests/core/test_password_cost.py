"""The argon2id work per password: standard for accounts, minimal only for test suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import extract_parameters

from core import passwords
from core.passwords import PasswordHashCost
from core.settings import Settings

PASSWORD = "a long enough passphrase"


@pytest.fixture
def cost() -> Iterator[None]:
    yield
    passwords.use_cost(PasswordHashCost.MINIMAL)  # what the suite runs with


def test_standard_is_the_default_and_the_recommended_profile(cost: None):
    assert Settings(_env_file=None).password_hash_cost is PasswordHashCost.STANDARD
    passwords.use_cost(PasswordHashCost.STANDARD)
    parameters = extract_parameters(passwords.hash_password(PASSWORD))
    assert parameters.memory_cost >= 64 * 1024
    assert parameters.time_cost >= 2


def test_each_profile_verifies_the_others_hashes_and_upgrades_minimal_ones(cost: None):
    passwords.use_cost(PasswordHashCost.MINIMAL)
    cheap = passwords.hash_password(PASSWORD)
    assert extract_parameters(cheap).memory_cost == 8
    passwords.use_cost(PasswordHashCost.STANDARD)
    assert passwords.verify_password(cheap, PASSWORD)
    assert not passwords.verify_password(cheap, PASSWORD + "!")
    assert passwords.needs_rehash(cheap)  # the next login stores a standard hash
    assert passwords.verify_password(None, PASSWORD) is False
