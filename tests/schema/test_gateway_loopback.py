"""Loopback gateways are refused where the settings say so (production's default).

The embedded default and the rest of the suite allow them (a carrier simulator beside
the proxy); here the platform runs with ``gateway_loopback`` off.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Environment, Settings
from tests.conftest import make_settings
from tests.graphql import SignedUp
from tests.schema.test_carriers import codes, mutate, new_carrier, new_gateway


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, gateway_loopback=False)


@pytest.mark.parametrize("typed", ["127.0.0.1", "127.8.9.10:5080", "::1", "[::1]:5070"])
async def test_a_loopback_gateway_is_refused_with_a_typed_error(isp_a: SignedUp, typed: str):
    carrier = await new_carrier(isp_a)
    created = await mutate(isp_a.client, "gatewayCreate", carrier=carrier, address=typed)
    assert codes(created) == [(["address"], "INVALID")]
    assert "loopback" in created["errors"][0]["message"]
    assert created["gateway"] is None


async def test_moving_a_gateway_onto_loopback_is_refused_and_changes_nothing(isp_a: SignedUp):
    carrier = await new_carrier(isp_a)
    gateway = await new_gateway(isp_a, carrier, "192.0.2.10", strip=1)
    moved = await mutate(isp_a.client, "gatewayUpdate", id=gateway["id"],
                         address="127.0.0.1", strip=3)
    assert codes(moved) == [(["address"], "INVALID")]
    again = await mutate(isp_a.client, "gatewayUpdate", id=gateway["id"], description="same")
    assert (again["gateway"]["address"], again["gateway"]["strip"]) == ("192.0.2.10", 1)


def test_the_default_allows_loopback_only_when_embedded(tmp_path: Path):
    assert Settings(_env_file=None, data_dir=tmp_path).gateway_loopback_allowed
    production = Settings.model_construct(environment=Environment.PRODUCTION,
                                          gateway_loopback=None)
    assert not production.gateway_loopback_allowed
