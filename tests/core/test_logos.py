"""Which logo uploads are accepted, decided by content alone, and how they are stored."""

from __future__ import annotations

import hashlib
import io
import struct
import uuid
import zlib

import pytest
from PIL import Image
from sqlmodel import Session, select

from core import logos
from core.errors import DomainError, ErrorCode
from core.logos import MAX_LOGO_SIDE, check_logo, logo_url, remove_logo, save_logo
from core.models import IspLogo
from tests.factories import make_isp

LIMIT = 256 * 1024


def _image(image_format: str, size: tuple[int, int] = (8, 8), mode: str = "RGB") -> bytes:
    """A real image, made in memory, with a little detail so JPEG has scan data."""
    image = Image.new(mode, size, "navy")
    for x in range(0, size[0], 2):
        image.putpixel((x, 0), (255, 200, 0) if mode == "RGB" else 255)
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()


def _noisy_jpeg() -> bytes:
    # Random pixels make a long entropy-coded segment, which a truncation cuts into.
    image = Image.frombytes("RGB", (64, 64), bytes(range(256)) * 48)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def _png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG header claiming a size whose pixels are never supplied."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00"))
        + _png_chunk(b"IEND", b"")
    )


def _refusal(data: bytes, max_bytes: int = LIMIT) -> DomainError:
    with pytest.raises(DomainError) as caught:
        check_logo(data, max_bytes=max_bytes)
    (error,) = caught.value.errors
    assert error.field == ("logo",)
    return caught.value


def _code(data: bytes, max_bytes: int = LIMIT) -> ErrorCode:
    return _refusal(data, max_bytes).errors[0].code


# Accepted -----------------------------------------------------------------------


def test_a_png_is_accepted_as_png():
    assert check_logo(_image("PNG"), max_bytes=LIMIT) == "image/png"


def test_a_jpeg_is_accepted_as_jpeg():
    assert check_logo(_image("JPEG"), max_bytes=LIMIT) == "image/jpeg"


def test_a_transparent_png_and_a_greyscale_jpeg_are_accepted():
    assert check_logo(_image("PNG", mode="RGBA"), max_bytes=LIMIT) == "image/png"
    assert check_logo(_image("JPEG", mode="L"), max_bytes=LIMIT) == "image/jpeg"


def test_the_type_comes_from_the_bytes_only():
    # There is nothing else to go on: a PNG someone called "logo.jpg" is still
    # a PNG, and a JPEG called "logo.png" is still a JPEG.
    assert check_logo(_image("PNG"), max_bytes=LIMIT) == "image/png"
    assert check_logo(_image("JPEG"), max_bytes=LIMIT) == "image/jpeg"


def test_an_image_at_exactly_the_limits_is_accepted():
    data = _image("PNG", size=(MAX_LOGO_SIDE, 1))
    assert check_logo(data, max_bytes=len(data)) == "image/png"
    assert check_logo(_image("PNG", size=(1, MAX_LOGO_SIDE)), max_bytes=LIMIT) == "image/png"


# Refused: not PNG or JPEG ---------------------------------------------------------

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)">'
    b'<rect width="10" height="10"/></svg>'
)
SVG_WITH_PROLOG = (
    b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


@pytest.mark.parametrize("svg", [SVG, SVG_WITH_PROLOG], ids=["bare", "xml-prolog"])
def test_svg_is_refused_because_it_can_carry_scripts(svg: bytes):
    refusal = _refusal(svg)
    assert refusal.errors[0].code is ErrorCode.UNSUPPORTED_FORMAT
    assert "SVG" in refusal.errors[0].message
    assert "script" in refusal.errors[0].message


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_image("GIF"), id="gif"),
        pytest.param(_image("WEBP"), id="webp"),
        pytest.param(_image("BMP"), id="bmp"),
        pytest.param(HTML, id="html"),
        pytest.param(b"", id="empty"),
        pytest.param(b"just some text", id="text"),
    ],
)
def test_other_files_are_refused(data: bytes):
    assert _code(data) is ErrorCode.UNSUPPORTED_FORMAT


def test_files_without_png_or_jpeg_magic_never_reach_the_decoder(
    monkeypatch: pytest.MonkeyPatch,
):
    def must_not_decode(*_args: object, **_kwargs: object) -> Image.Image:
        raise AssertionError("a non-image reached Pillow")

    monkeypatch.setattr(logos.Image, "open", must_not_decode)
    for data in (SVG, SVG_WITH_PROLOG, HTML, _image("GIF"), b""):
        assert _code(data) is ErrorCode.UNSUPPORTED_FORMAT


# Refused: PNG or JPEG in name only --------------------------------------------------


def _corrupt_png_pixels() -> bytes:
    # Valid chunk structure and CRCs, but the compressed pixel data is not zlib:
    # only decoding the pixels can tell.
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"not zlib at all")
        + _png_chunk(b"IEND", b"")
    )


def _png_with_bad_crc() -> bytes:
    data = bytearray(_image("PNG"))
    data[data.index(b"IDAT") + 6] ^= 0xFF  # a byte of pixel data, so its CRC fails
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"garbage " * 32, id="png-signature-then-garbage"),
        pytest.param(_image("PNG")[:60], id="truncated-png"),
        pytest.param(_png_with_bad_crc(), id="png-bad-crc"),
        pytest.param(_corrupt_png_pixels(), id="png-corrupt-pixels"),
        pytest.param(_noisy_jpeg()[: len(_noisy_jpeg()) * 2 // 3], id="truncated-jpeg"),
        pytest.param(b"\xff\xd8\xff" + b"garbage " * 32, id="jpeg-signature-then-garbage"),
        pytest.param(b"\xff\xd8\xff<svg onload=alert(1)>", id="jpeg-signature-then-svg"),
    ],
)
def test_corrupt_or_truncated_images_are_refused(data: bytes):
    refusal = _refusal(data)
    assert refusal.errors[0].code is ErrorCode.UNSUPPORTED_FORMAT
    assert "not a valid PNG or JPEG" in refusal.errors[0].message


@pytest.mark.parametrize(("width", "height"), [(5000, 10), (10, 5000)])
def test_an_image_too_large_on_either_side_is_refused(width: int, height: int):
    refusal = _refusal(_image("PNG", size=(width, height)))
    assert refusal.errors[0].code is ErrorCode.UNSUPPORTED_FORMAT
    assert f"{width}x{height}" in refusal.errors[0].message
    assert str(MAX_LOGO_SIDE) in refusal.errors[0].message


def test_a_jpeg_too_large_on_one_side_is_refused():
    assert _code(_image("JPEG", size=(MAX_LOGO_SIDE + 1, 8))) is ErrorCode.UNSUPPORTED_FORMAT


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(10_000, 10_000, id="over-pillow-limit-warning"),
        pytest.param(20_000, 20_000, id="over-twice-pillow-limit-error"),
    ],
)
def test_decompression_bombs_are_refused_without_decoding(width: int, height: int):
    # A few dozen bytes that claim hundreds of megapixels.
    data = _png_claiming(width, height)
    assert len(data) < 100
    refusal = _refusal(data)
    assert refusal.errors[0].code is ErrorCode.UNSUPPORTED_FORMAT
    # Stopped by Pillow's bomb guard when opening, before the size is even looked at.
    assert "not a valid PNG or JPEG" in refusal.errors[0].message


# Refused: too many bytes --------------------------------------------------------------


def test_too_many_bytes_are_refused_with_the_limit_in_kib():
    refusal = _refusal(_image("PNG") + b"\x00" * 2048, max_bytes=1024)
    assert refusal.errors[0].code is ErrorCode.TOO_LARGE
    assert "1 KiB" in refusal.errors[0].message


def test_the_size_is_checked_before_the_content():
    # Even a file that would be refused anyway is answered with the size first:
    # nothing is sniffed or decoded beyond the limit.
    assert _code(SVG + b" " * LIMIT) is ErrorCode.TOO_LARGE


def test_one_byte_over_the_limit_is_refused():
    data = _image("PNG")
    assert _code(data, max_bytes=len(data) - 1) is ErrorCode.TOO_LARGE


# Storage ------------------------------------------------------------------------------


def test_save_logo_stores_the_bytes_and_their_hash(session: Session):
    isp = make_isp(session)
    data = _image("PNG")
    saved = save_logo(session, isp.id, "image/png", data)
    session.commit()
    session.expire_all()
    stored = session.get(IspLogo, isp.id)
    assert stored is not None
    assert saved.isp_id == isp.id
    assert stored.content == data
    assert stored.content_type == "image/png"
    assert stored.sha256 == hashlib.sha256(data).hexdigest()


def test_save_logo_replaces_the_previous_logo(session: Session):
    isp = make_isp(session)
    save_logo(session, isp.id, "image/png", _image("PNG"))
    session.commit()
    replacement = _image("JPEG")
    save_logo(session, isp.id, "image/jpeg", replacement)
    session.commit()
    session.expire_all()
    stored = session.get(IspLogo, isp.id)
    assert stored is not None
    assert stored.content == replacement
    assert stored.content_type == "image/jpeg"
    assert stored.sha256 == hashlib.sha256(replacement).hexdigest()
    assert len(session.exec(select(IspLogo)).all()) == 1


def test_save_logo_flushes_but_leaves_the_commit_to_the_caller(session: Session):
    isp = make_isp(session)
    save_logo(session, isp.id, "image/png", _image("PNG"))
    session.rollback()
    assert session.get(IspLogo, isp.id) is None


def test_save_logo_refuses_a_type_check_logo_never_returns(session: Session):
    isp = make_isp(session)
    with pytest.raises(ValueError, match="image/svg"):
        save_logo(session, isp.id, "image/svg+xml", SVG)


def test_remove_logo(session: Session):
    isp = make_isp(session)
    save_logo(session, isp.id, "image/png", _image("PNG"))
    session.commit()
    remove_logo(session, isp.id)
    session.commit()
    assert session.get(IspLogo, isp.id) is None
    remove_logo(session, isp.id)  # nothing to remove is not an error


def test_logo_url_is_stable_per_isp_and_versioned_by_content():
    isp_id = uuid.UUID("6f1c1a52-8a4e-4b0c-9a53-2d3c2f5b7e10")
    sha = hashlib.sha256(b"logo").hexdigest()
    assert logo_url("https://api.example.com", isp_id, sha) == (
        f"https://api.example.com/media/isp-logos/{isp_id}?v={sha[:12]}"
    )
    other = hashlib.sha256(b"another logo").hexdigest()
    assert (
        logo_url("https://api.example.com", isp_id, other).split("?")[0]
        == (logo_url("https://api.example.com", isp_id, sha).split("?")[0])
    )
