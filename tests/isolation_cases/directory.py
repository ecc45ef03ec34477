"""Isolation cases of directory links and their preview rows."""

from __future__ import annotations

from sqlmodel import Session

from core.models import DirectoryLink, DirectoryLinkStatus, DirectoryPreviewRow, DirectoryProvider
from schema.core.ids import id_of, to_global_id
from tests.graphql import SignedUp
from tests.isolation import Case, register
from tests.isolation_cases.tenants import _tenant


def _link(isp: SignedUp, tenant_global_id: str) -> DirectoryLink:
    # Linking needs a provider's consent; the row is what the flow leaves behind.
    with Session(isp.engine) as session:
        link = DirectoryLink(tenant_id=id_of(tenant_global_id, "Tenant"),
                             provider=DirectoryProvider.GOOGLE,
                             status=DirectoryLinkStatus.LINKED)
        session.add(link)
        session.commit()
        session.refresh(link)
        return link


async def _directory_link(isp: SignedUp) -> str:
    return to_global_id("DirectoryLink", _link(isp, await _tenant(isp)).id)


async def _preview_row(isp: SignedUp) -> str:
    link = _link(isp, await _tenant(isp))
    with Session(isp.engine) as session:
        row = DirectoryPreviewRow(link_id=link.id, position=0, external_id="u-1",
                                  email="ann@example.com", username="ann", alias="1000")
        session.add(row)
        session.commit()
        return to_global_id("DirectoryPreviewRow", row.id)


register(
    Case("DirectoryLink", _directory_link),
    Case("DirectoryPreviewRow", _preview_row),
)
