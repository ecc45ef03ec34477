"""Reading CSV uploads strictly: every mistake reported with its line, nothing half-read.

Importers read all rows with :func:`read_rows`, check each one, collect the
mistakes with :class:`LineErrors`, and store nothing unless the whole file is
clean.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from core.errors import DomainError, ErrorCode, FieldError

MAX_REPORTED = 99  # plus the "... and N more" line: a job keeps 100 details


@dataclass(frozen=True)
class CsvRow:
    line: int  # as a spreadsheet shows it: the header is line 1
    values: dict[str, str]


def _invalid(message: str) -> DomainError:
    return DomainError.single(ErrorCode.INVALID, message, "file")


def read_rows(data: bytes, *, required: list[str], optional: list[str] | None = None,
              max_rows: int) -> Iterator[CsvRow]:
    """The rows of a UTF-8 CSV file whose header names the columns (case-insensitive)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _invalid("the file is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in next(reader, [])]
    known = set(required) | set(optional or [])
    missing = [name for name in required if name not in header]
    if missing:
        raise _invalid(f"missing column(s): {', '.join(missing)}")
    unknown = [name for name in header if name not in known]
    if unknown:
        raise _invalid(f"unknown column(s): {', '.join(unknown)}")
    count = 0
    for fields in reader:
        if not any(field.strip() for field in fields):
            continue  # blank lines are not rows
        count += 1
        if count > max_rows:
            raise _invalid(f"the file has more than {max_rows} rows")
        if len(fields) != len(header):
            raise DomainError(FieldError(
                code=ErrorCode.INVALID,
                message=f"line {reader.line_num}: expected {len(header)} fields, "
                        f"found {len(fields)}",
                field=("file",)))
        yield CsvRow(line=reader.line_num, values=dict(zip(header, (f.strip() for f in fields),
                                                           strict=True)))


class LineErrors:
    """Mistakes found while checking rows; raise them all at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.notes: list[FieldError] = []

    def add(self, line: int, message: str) -> None:
        self.errors.append(FieldError(code=ErrorCode.INVALID, message=f"line {line}: {message}",
                                      field=("file",)))

    def note(self, message: str) -> None:
        """A mistake of the file as a whole, listed after the lines' (always shown)."""
        self.notes.append(FieldError(code=ErrorCode.INVALID, message=message, field=("file",)))

    def raise_if_any(self) -> None:
        if not self.errors and not self.notes:
            return
        shown = self.errors[:MAX_REPORTED]
        if len(self.errors) > MAX_REPORTED:
            shown.append(FieldError(code=ErrorCode.INVALID, field=("file",),
                                    message=f"... and {len(self.errors) - MAX_REPORTED} more"))
        raise DomainError(*shown, *self.notes)


def write_csv(header: list[str], rows: list[list[str]]) -> bytes:
    """A CSV file (templates, exports) as UTF-8 bytes."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
