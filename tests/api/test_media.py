"""ISP logos served over HTTP: public, cacheable, and never anything but an image."""

from __future__ import annotations

import hashlib
import io
import uuid

import httpx
import pytest
from PIL import Image
from sqlmodel import Session

from core.logos import logo_url, save_logo
from core.models import Isp
from core.settings import Settings
from tests.factories import make_isp


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "teal").save(buffer, "JPEG")
    return buffer.getvalue()


def _isp_with_logo(session: Session, content_type: str, data: bytes) -> Isp:
    isp = make_isp(session)
    save_logo(session, isp.id, content_type, data)
    session.commit()
    return isp


def _path(isp_id: uuid.UUID | str) -> str:
    return f"/media/isp-logos/{isp_id}"


async def test_a_png_logo_is_served_with_its_type_and_safety_headers(
    session: Session, client: httpx.AsyncClient
):
    data = _png()
    isp = _isp_with_logo(session, "image/png", data)

    response = await client.get(_path(isp.id))

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert response.headers["content-disposition"] == 'inline; filename="logo.png"'


async def test_a_jpeg_logo_is_served_as_jpeg(session: Session, client: httpx.AsyncClient):
    data = _jpeg()
    isp = _isp_with_logo(session, "image/jpeg", data)

    response = await client.get(_path(isp.id))

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"] == 'inline; filename="logo.jpg"'


async def test_no_authentication_is_needed(session: Session, client: httpx.AsyncClient):
    # The client fixture carries no session cookie or token: the login page needs the logo.
    isp = _isp_with_logo(session, "image/png", _png())
    assert "cookie" not in client.headers
    assert (await client.get(_path(isp.id))).status_code == 200


async def test_the_url_handed_out_is_the_one_served(
    session: Session, client: httpx.AsyncClient, settings: Settings
):
    data = _png()
    isp = _isp_with_logo(session, "image/png", data)
    url = logo_url(settings.public_base_url, isp.id, hashlib.sha256(data).hexdigest())

    response = await client.get(url)

    assert response.status_code == 200
    assert response.content == data


async def test_a_replaced_logo_is_served_with_a_new_etag(
    session: Session, client: httpx.AsyncClient
):
    isp = _isp_with_logo(session, "image/png", _png())
    first = await client.get(_path(isp.id))
    replacement = _jpeg()
    save_logo(session, isp.id, "image/jpeg", replacement)
    session.commit()

    second = await client.get(_path(isp.id))

    assert second.content == replacement
    assert second.headers["content-type"] == "image/jpeg"
    assert second.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"something-else", {etag}', "*"],
    ids=["exact", "weak", "in-a-list", "star"],
)
async def test_a_matching_etag_gets_304_without_a_body(
    session: Session, client: httpx.AsyncClient, if_none_match: str
):
    isp = _isp_with_logo(session, "image/png", _png())
    etag = (await client.get(_path(isp.id))).headers["etag"]

    response = await client.get(
        _path(isp.id), headers={"If-None-Match": if_none_match.format(etag=etag)}
    )

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=300"


async def test_a_stale_etag_gets_the_logo(session: Session, client: httpx.AsyncClient):
    data = _png()
    isp = _isp_with_logo(session, "image/png", data)

    response = await client.get(_path(isp.id), headers={"If-None-Match": '"stale"'})

    assert response.status_code == 200
    assert response.content == data


async def test_head_gives_the_headers_without_the_body(session: Session, client: httpx.AsyncClient):
    data = _png()
    isp = _isp_with_logo(session, "image/png", data)

    response = await client.head(_path(isp.id))

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_an_isp_without_a_logo_is_404(session: Session, client: httpx.AsyncClient):
    isp = make_isp(session)
    response = await client.get(_path(isp.id))
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


async def test_an_unknown_id_is_404(client: httpx.AsyncClient):
    response = await client.get(_path(uuid.uuid4()))
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


@pytest.mark.parametrize("garbage", ["not-a-uuid", "1234", "..%00", "%00", "x" * 300])
async def test_a_malformed_id_is_404(client: httpx.AsyncClient, garbage: str):
    response = await client.get(_path(garbage))
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_only_get_and_head_are_allowed(
    session: Session, client: httpx.AsyncClient, method: str
):
    isp = _isp_with_logo(session, "image/png", _png())
    response = await client.request(method, _path(isp.id))
    assert response.status_code == 405


@pytest.mark.parametrize("suffix", ["/extra", "/..%2F..%2Fgraphql"])
async def test_nothing_below_a_logo_is_served(
    session: Session, client: httpx.AsyncClient, suffix: str
):
    # Starlette's router itself refuses these (a path parameter holds no "/").
    isp = _isp_with_logo(session, "image/png", _png())
    response = await client.get(_path(isp.id) + suffix)
    assert response.status_code == 404
