"""Whether configuration changes have reached the SIP proxies, as each viewer may know it.

The export records, per proxy database, the latest generation it wrote and the
change requests it covered (``RoutingDatabase``), and per proxy the generation
it last reloaded and why its last reload failed (``SipProxy``: Kamailio's own
answer, e.g. an ``htable.reload`` out of shared memory). From those:

- *pending*: changes were requested that no export has covered yet;
- *lagging*: some enabled proxy has not reloaded its database's latest export
  (it missed a reload, or failed to load a table: its ``last_error`` says why);
- *in step*: neither.

Platform operators see the platform's figures and every proxy. Everyone else
sees only whether their own ISPs' changes are live: another ISP's activity and
the proxies' errors (which may quote the proxy database) are not theirs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlmodel import Session, col

from core.models import RoutingChanges, RoutingDatabase, RoutingIspChange, SipProxy
from core.viewer import Viewer


@dataclass(frozen=True)
class RoutingState:
    in_step: bool
    pending: bool
    # Platform operators only; None / empty for everyone else.
    generation: int | None = None
    exported_at: dt.datetime | None = None
    last_error: str | None = None
    proxies: list[SipProxy] = field(default_factory=list)


def _awaited_request(session: Session, viewer: Viewer, changes: RoutingChanges | None) -> int:
    """The change request the viewer waits for: the platform's last, or its own ISPs'."""
    if viewer.is_platform:
        return changes.requested if changes else 0
    own = session.execute(select(func.max(RoutingIspChange.requested)).where(
        col(RoutingIspChange.isp_id).in_(viewer.member_isp_ids()))).scalar()
    # A change nobody could be told of (a bulk statement naming no ISP) counts for everyone.
    return max(own or 0, changes.unattributed if changes else 0)


def routing_state(session: Session, viewer: Viewer) -> RoutingState:
    """The export state ``viewer`` may see (see the module's docstring)."""
    proxies = list(session.execute(select(SipProxy).where(col(SipProxy.enabled))
                                   .order_by(col(SipProxy.name))).scalars())
    keys = {proxy.database_key for proxy in proxies}
    databases = {row.key: row for row in session.execute(
        select(RoutingDatabase).where(col(RoutingDatabase.key).in_(keys))).scalars()}
    awaited = _awaited_request(session, viewer, session.get(RoutingChanges, 1))
    pending = any((databases[key].covered_request if key in databases else 0) < awaited
                  for key in keys)
    lagging = any(proxy.applied_generation < databases[proxy.database_key].generation
                  for proxy in proxies if proxy.database_key in databases)
    in_step = not pending and not lagging
    if not viewer.is_platform:
        return RoutingState(in_step=in_step, pending=pending)
    exported = [row.exported_at for row in databases.values() if row.exported_at]
    errors = [row.last_error for row in databases.values() if row.last_error]
    return RoutingState(
        in_step=in_step,
        pending=pending,
        generation=max((row.generation for row in databases.values()), default=0),
        exported_at=max(exported, default=None),
        last_error=errors[0] if errors else None,
        proxies=proxies,
    )
