"""The installed version of the control plane."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def product_version() -> str:
    try:
        return version("wehostvoip")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
