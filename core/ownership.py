"""Which ISP a new object belongs to, and whether the viewer may change it."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from core import scoping
from core.errors import DomainError, ErrorCode, not_found
from core.models import Isp
from core.viewer import Viewer


def managed_isp(session: Session, viewer: Viewer, isp_id: uuid.UUID | None) -> Isp:
    """The ISP the viewer acts for, which they must administer.

    ``isp_id`` may be left out by someone who administers exactly one ISP.
    Another ISP answers like a missing one; an ISP seen read-only is NOT_PERMITTED.
    """
    if isp_id is None:
        managed = viewer.isp_ids(admin_only=True)
        if not managed and not viewer.is_platform_admin:
            # Nothing to name: a read-only role is refused, not asked for more input.
            raise DomainError.single(ErrorCode.NOT_PERMITTED,
                                     "your role can read but not change an ISP's settings")
        if len(managed) != 1:
            raise DomainError.single(ErrorCode.REQUIRED, "name the ISP", "isp")
        isp_id = next(iter(managed))
    isp = scoping.get_visible(session, viewer, Isp, isp_id)
    if isp is None:
        raise not_found("ISP", "isp")
    require_manager(viewer, isp.id)
    return isp


def require_manager(viewer: Viewer, isp_id: uuid.UUID) -> None:
    """Refuse read-only roles (the object itself is visible, so this is not NOT_FOUND)."""
    if not viewer.can_manage_isp(isp_id):
        raise DomainError.single(ErrorCode.NOT_PERMITTED,
                                 "your role in this ISP can read but not change it")
