"""Where a tenant's directory sync goes on handing out extensions.

The sync gives each new directory user the lowest free extension from the
link's sequential start. Rather than reading every extension of a large
tenant for each new user, the link remembers how far the extensions are known
to be taken (``DirectoryLink.alias_next``); whatever frees an extension below
that point (a subscriber deleted, an extension changed) moves it back, so the
next new user gets the freed extension.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import update
from sqlmodel import Session, col

from core.models import DirectoryLink


def extensions_freed(session: Session, tenant_id: uuid.UUID,
                     aliases: Iterable[str | None]) -> None:
    """These extensions of the tenant are free again."""
    numbers = [int(alias) for alias in aliases if alias and alias.isdigit()]
    if numbers:
        lowest = min(numbers)
        session.execute(update(DirectoryLink).where(
            col(DirectoryLink.tenant_id) == tenant_id, col(DirectoryLink.alias_next) > lowest)
            .values(alias_next=lowest))
