"""Reading GraphQL multipart uploads without trusting their declared size or type."""

from __future__ import annotations

from starlette.datastructures import UploadFile

from core.errors import DomainError, ErrorCode


async def read_upload(upload: object, *, max_bytes: int, field: str) -> bytes:
    """The uploaded bytes; refuses more than ``max_bytes`` without reading further.

    An ``Upload`` argument given as anything but a multipart file part (a string
    in the query, an object in the variables) is a user's mistake, said as such.
    """
    if not isinstance(upload, UploadFile):
        raise DomainError.single(ErrorCode.INVALID, "send the file as a multipart upload "
                                 "(the GraphQL multipart request format)", field)
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DomainError.single(
            ErrorCode.TOO_LARGE, f"the file is larger than {max_bytes // 1024} KiB", field
        )
    return data
