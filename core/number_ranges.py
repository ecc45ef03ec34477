"""What adding many numbers (a range, an imported file) may tell about the rest of the platform.

Numbers are unique platform-wide, so a range that overlaps numbers already on the
platform is refused as a whole: that much an ISP learns unavoidably. What it
must not get is a list of another ISP's inventory, 10,000 numbers a request. So
the refusal lists only the ISP's own numbers in the range; of the others it says
only that the range reaches numbers held elsewhere, neither which nor how many.
And ranges are limited per ISP (:data:`RANGES_PER_HOUR` requests an hour,
counted whether they succeed or not), which bounds what probing by halves can
find out. An imported file is treated the same way (:func:`held_elsewhere_note`,
:data:`IMPORTS_PER_HOUR`): its lines name the ISP's own numbers, never another's.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func
from sqlmodel import Session, col, select

from core import rate_limits
from core.errors import DomainError, ErrorCode
from core.models import Number
from core.ownership import managed_isp
from core.viewer import Viewer

RANGES_PER_HOUR = 30
IMPORTS_PER_HOUR = 30
LISTED = 5
HELD_ELSEWHERE = ("some numbers of the file are held elsewhere on the platform (which ones is "
                  "not said: they belong to another ISP); remove them, or ask your platform "
                  "operator")


def count_request(session: Session, viewer: Viewer, isp_id: uuid.UUID | None) -> None:
    """Count one range request of the ISP (in a transaction of its own, so that a refused
    range counts too); TOO_MANY_ATTEMPTS beyond the limit."""
    isp = managed_isp(session, viewer, isp_id)
    if not rate_limits.take(session, f"number-range:{isp.id}", limit=RANGES_PER_HOUR,
                            per=dt.timedelta(hours=1)):
        raise DomainError.single(ErrorCode.TOO_MANY_ATTEMPTS,
                                 f"at most {RANGES_PER_HOUR} ranges an hour; try again later, "
                                 "or import the numbers from a file (numberImport)")


def count_import(session: Session, isp_id: uuid.UUID) -> None:
    """Count one import request of the ISP, in the caller's transaction (an import's
    refusal comes later, from its job); TOO_MANY_ATTEMPTS beyond the limit."""
    if not rate_limits.take(session, f"number-import:{isp_id}", limit=IMPORTS_PER_HOUR,
                            per=dt.timedelta(hours=1)):
        raise DomainError.single(ErrorCode.TOO_MANY_ATTEMPTS,
                                 f"at most {IMPORTS_PER_HOUR} imports an hour; try again later",
                                 "file")


def conflict(session: Session, isp_id: uuid.UUID, first: str, last: str) -> DomainError | None:
    """Why the range from ``first`` to ``last`` (same length) cannot be added, or None."""
    # Same length, so text order is numeric order; other lengths sort in between.
    in_range = (col(Number.e164).between(first, last),
                func.length(Number.e164) == len(first))
    own = list(session.exec(select(Number.e164).where(*in_range, Number.isp_id == isp_id)
                            .order_by(Number.e164).limit(LISTED + 1)))
    elsewhere = session.exec(select(Number.id).where(*in_range, Number.isp_id != isp_id)
                             .limit(1)).first() is not None
    if not own and not elsewhere:
        return None
    parts = []
    if own:
        parts.append("already in your inventory: " + ", ".join(own[:LISTED])
                     + (" and more" if len(own) > LISTED else ""))
    if elsewhere:
        parts.append("some numbers of the range are held elsewhere on the platform")
    return DomainError.single(ErrorCode.ALREADY_EXISTS, "; ".join(parts), "first")


__all__ = ["HELD_ELSEWHERE", "IMPORTS_PER_HOUR", "RANGES_PER_HOUR", "conflict", "count_import",
           "count_request"]
