"""Caller IDs follow the numbers: a subscriber presents only a number its tenant holds.

A subscriber's caller ID is one of its tenant's numbers (checked when it is set,
see ``core.subscribers``). Carriers reject or flag a caller ID the platform does
not hold for the caller, and a released number, after its quarantine, belongs to
someone else: so whenever a tenant stops holding a number, every caller ID of
that tenant's subscribers that uses it is cleared, in the same transaction.

The paths that take numbers from a tenant call :func:`numbers_left_tenant`:
``core.numbers.release_number`` (an administrator releases it) and
``core.directory_actions.remove_expired`` (a directory user's subscriber is
removed and its numbers go to quarantine). Deleting a number needs it released
first, so it goes through the first path. Re-targeting a number inside its
tenant (``set_target``) leaves caller IDs alone: the tenant still holds the
number, and a company's main number is commonly every subscriber's caller ID
while it rings the reception only.

The routing export applies the same rule once more, as a safety net: it never
writes a caller ID that the subscriber's tenant does not hold
(``routing_export.desired``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import update
from sqlmodel import Session, col

from core.models import Subscriber, utcnow


def numbers_left_tenant(session: Session, tenant_id: uuid.UUID,
                        numbers: Collection[str]) -> int:
    """Clear the caller IDs of ``tenant_id``'s subscribers that use one of ``numbers``
    (E.164 with '+'), which the tenant no longer holds; returns how many were cleared."""
    if not numbers:
        return 0
    result = session.exec(
        update(Subscriber)
        .where(col(Subscriber.tenant_id) == tenant_id,
               col(Subscriber.caller_id).in_(sorted(numbers)))
        .values(caller_id=None, updated_at=utcnow())
        .execution_options(synchronize_session="fetch"))
    return result.rowcount
