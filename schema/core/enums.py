"""Enums that several domains show (one strawberry enum per name in the schema)."""

from __future__ import annotations

import strawberry

from core.models import Service

ServiceEnum = strawberry.enum(
    Service, name="Service",
    description="What a service deck entry prices: PSTN calls out, DID and toll-free calls in, "
                "SIP legs.")
