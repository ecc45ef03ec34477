"""ISP logos: which uploads are accepted, how they are stored, where they are served.

A logo is shown on an ISP's login page, so an upload is an attacker-controlled
file served from our origin. Only PNG and JPEG are accepted, decided from the
bytes themselves: a filename or a client-declared content type is whatever the
client wants it to be. SVG in particular is refused, because an SVG document can
carry scripts that would run on our origin.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings

from PIL import Image
from sqlmodel import Session

from core.errors import DomainError, ErrorCode
from core.models import IspLogo

# Larger than any login page needs, small enough that decoding stays cheap.
MAX_LOGO_SIDE = 4096

PNG = "image/png"
JPEG = "image/jpeg"
CONTENT_TYPES = frozenset({PNG, JPEG})

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start of image followed by the first marker's 0xFF: every JPEG begins so.
_JPEG_SIGNATURE = b"\xff\xd8\xff"
# Pillow's format name for the type each signature announces.
_PILLOW_FORMATS = {PNG: "PNG", JPEG: "JPEG"}
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

# What a malformed image can make Pillow's decoders raise; anything else is a bug.
_DECODE_ERRORS = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    SyntaxError,  # Pillow's PNG reader reports broken chunks this way
    ValueError,
    EOFError,
    IndexError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)

_FIELD = "logo"


def check_logo(data: bytes, *, max_bytes: int) -> str:
    """The content type of an acceptable logo: ``image/png`` or ``image/jpeg``.

    Raises :class:`DomainError` on the ``logo`` field otherwise: TOO_LARGE over
    ``max_bytes``, UNSUPPORTED_FORMAT for anything that is not a sound PNG or
    JPEG of at most ``MAX_LOGO_SIDE`` pixels a side.
    """
    if len(data) > max_bytes:
        raise _refuse(
            ErrorCode.TOO_LARGE,
            f"The logo is {_kib(len(data))} KiB; the limit is {_kib(max_bytes)} KiB.",
        )
    content_type = _sniff(data)
    _decode(data, _PILLOW_FORMATS[content_type])
    return content_type


def _sniff(data: bytes) -> str:
    """The type the magic bytes announce, so that other files never reach a decoder."""
    if data.startswith(_PNG_SIGNATURE):
        return PNG
    if data.startswith(_JPEG_SIGNATURE):
        return JPEG
    if not data:
        raise _unsupported("The logo file is empty.")
    if _looks_like_svg(data):
        raise _unsupported(
            "SVG logos are refused because SVG images can carry scripts; "
            "upload a PNG or JPEG image."
        )
    raise _unsupported("The logo must be a PNG or JPEG image.")


def _looks_like_svg(data: bytes) -> bool:
    # Only for a clearer message: whatever this says, the file is refused.
    text = data
    for bom in _BOMS:
        text = text.removeprefix(bom)
    return text.lstrip().startswith(b"<") and b"<svg" in text.lower()


def _decode(data: bytes, pillow_format: str) -> None:
    """Refuse an image that is corrupt, truncated, a decompression bomb or too large."""
    try:
        # Pillow only warns about a bomb below twice its pixel limit; make that
        # an error too. (catch_warnings touches process-wide state, which is
        # acceptable here: the worst a race does is let one warning be logged.)
        with warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning):
            # Restricting the formats keeps the decoder to the one the magic bytes named.
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                if image.format != pillow_format:
                    raise _unsupported("The logo must be a PNG or JPEG image.")
                image.verify()
            # verify() leaves the image unusable, and does not decode the pixels
            # (for JPEG it checks nothing): open again to check the size, then load.
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                _check_dimensions(*image.size)
                image.load()
    except _DECODE_ERRORS:
        raise _unsupported(
            "The logo is not a valid PNG or JPEG image; it may be truncated or corrupt."
        ) from None


def _check_dimensions(width: int, height: int) -> None:
    # Checked before load(), so an oversized image is never decoded.
    if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
        raise _unsupported(
            f"The logo is {width}x{height} pixels; "
            f"at most {MAX_LOGO_SIDE} pixels a side are accepted."
        )


def _kib(size: int) -> str:
    kib = size / 1024
    return f"{kib:.0f}" if kib.is_integer() else f"{kib:.1f}"


def _unsupported(message: str) -> DomainError:
    return _refuse(ErrorCode.UNSUPPORTED_FORMAT, message)


def _refuse(code: ErrorCode, message: str) -> DomainError:
    return DomainError.single(code, message, _FIELD)


def save_logo(session: Session, isp_id: uuid.UUID, content_type: str, data: bytes) -> IspLogo:
    """Store (or replace) the ISP's logo; flushed, committed by the caller.

    ``content_type`` is what :func:`check_logo` returned for ``data``.
    """
    if content_type not in CONTENT_TYPES:
        # A programming error, not a user's: the type must come from check_logo.
        raise ValueError(f"unsupported logo content type {content_type!r}")
    digest = hashlib.sha256(data).hexdigest()
    logo = session.get(IspLogo, isp_id)
    if logo is None:
        logo = IspLogo(isp_id=isp_id, content_type=content_type, content=data, sha256=digest)
    else:
        logo.content_type = content_type
        logo.content = data
        logo.sha256 = digest
    session.add(logo)
    session.flush()
    return logo


def remove_logo(session: Session, isp_id: uuid.UUID) -> None:
    """Delete the ISP's logo if it has one; flushed, committed by the caller."""
    logo = session.get(IspLogo, isp_id)
    if logo is not None:
        session.delete(logo)
        session.flush()


def logo_url(public_base_url: str, isp_id: uuid.UUID, sha256: str) -> str:
    """Where browsers fetch the logo.

    The path is stable for the ISP; ``v`` changes with the content so that a new
    logo is not hidden behind a cached old one.
    """
    return f"{public_base_url.rstrip('/')}/media/isp-logos/{isp_id}?v={sha256[:12]}"
