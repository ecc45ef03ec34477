"""A carrier's vendor rates: what it charges the ISP, per destination prefix.

The same CSV as a plan's rate deck (core.service_plans.read_rate_deck, every
line checked); an import replaces the carrier's vendor rates as a whole. The
rating of call legs reads them for the ISP's cost and margin (core.rating).
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, insert
from sqlmodel import Session, col

from core import audit, scoping
from core.errors import DomainError, ErrorCode, not_found
from core.models import Carrier, VendorRateEntry
from core.service_plans import read_rate_deck
from core.viewer import Viewer

_CHUNK = 5000


def replace_vendor_rates(session: Session, viewer: Viewer, carrier_id: uuid.UUID | None,
                         content: bytes) -> tuple[Carrier, int]:
    """Replace the carrier's vendor rates with the CSV ``content``; how many entries."""
    carrier = scoping.get_visible(session, viewer, Carrier, carrier_id)
    if carrier is None:
        raise not_found("carrier", "carrier")
    if not viewer.can_manage_isp(carrier.isp_id):
        raise DomainError.single(ErrorCode.NOT_PERMITTED,
                                 "only the ISP's administrators change vendor rates")
    entries = read_rate_deck(content)
    session.execute(delete(VendorRateEntry).where(
        col(VendorRateEntry.carrier_id) == carrier.id))
    rows = [{"id": uuid.uuid4(), "carrier_id": carrier.id, **entry} for entry in entries]
    for index in range(0, len(rows), _CHUNK):
        session.execute(insert(VendorRateEntry), rows[index:index + _CHUNK])
    audit.record(session, viewer, action="carrier.vendor_rates_import", object_type="Carrier",
                 object_id=carrier.id, isp_id=carrier.isp_id, changes={"entries": len(rows)})
    return carrier, len(rows)
