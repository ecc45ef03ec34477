"""Writing a one-sheet XLSX file as rows arrive, in constant memory.

An XLSX file is a zip of XML parts (ECMA-376, "Office Open XML"). A sheet of text
needs only five of them; the sheet's part is streamed into the zip row by row, each
cell an inline string (``t="inlineStr"``): always text, never a number or a formula,
so a display name such as ``=HYPERLINK(...)`` from a directory cannot run in the
spreadsheet of whoever opens the file. openpyxl builds a Python object per cell even
in write-only mode; for a credentials sheet of 50,000 subscribers that was most of
the export's time, hence this writer.

    with XlsxWriter(target, sheet_name="Credentials") as sheet:
        sheet.append(["Username", "Extension"])
        sheet.append(["alice", "1000"])
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from types import TracebackType
from typing import IO
from xml.sax.saxutils import escape, quoteattr

# Characters XML 1.0 does not allow (control characters but tab, LF and CR): dropped.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Deflate level: text compresses well already at the fastest level.
_COMPRESS_LEVEL = 1

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/></Relationships>')
# The least a spreadsheet application accepts: one font, fill, border and cell format.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
    'xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
    'builtinId="0"/></cellStyles></styleSheet>')
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_END = "</sheetData></worksheet>"


def _workbook(sheet_name: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name={quoteattr(sheet_name)} sheetId="1" r:id="rId1"/></sheets>'
            '</workbook>')


_OPEN = '<c t="inlineStr"><is><t xml:space="preserve">'
_CLOSE = "</t></is></c>"
_BETWEEN = _CLOSE + _OPEN


# Between the values of a row while it is escaped; a NUL is no character of XML either.
_SEPARATOR = "\x00"
_ILLEGAL_BUT_NUL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _row(values: Iterable[str]) -> str:
    cells = list(values)
    # The row's values escaped and cleaned as one string (the per-cell calls were most of
    # the cost), unless a value holds the separator itself.
    text = _SEPARATOR.join(cells)
    if text.count(_SEPARATOR) == len(cells) - 1:
        text = _ILLEGAL_BUT_NUL.sub("", escape(text)).replace(_SEPARATOR, _BETWEEN)
    else:
        text = _BETWEEN.join(escape(_ILLEGAL.sub("", cell)) for cell in cells)
    return f"<row>{_OPEN}{text}{_CLOSE}</row>"


class XlsxWriter:
    """One sheet of text cells, written into ``target`` (a binary file) as rows arrive."""

    def __init__(self, target: IO[bytes], *, sheet_name: str) -> None:
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED,
                                    compresslevel=_COMPRESS_LEVEL)
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                           ("xl/workbook.xml", _workbook(sheet_name)),
                           ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                           ("xl/styles.xml", _STYLES)):
            self._zip.writestr(name, text)
        # force_zip64: the sheet's size is not known before it is written.
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self._sheet.write(_SHEET_START.encode())

    def append(self, values: Iterable[str]) -> None:
        self.extend([values])

    def extend(self, rows: Iterable[Iterable[str]]) -> None:
        """Several rows in one write (a batch of a few hundred is a good size)."""
        self._sheet.write("".join(map(_row, rows)).encode())

    def close(self) -> None:
        self._sheet.write(_SHEET_END.encode())
        self._sheet.close()
        self._zip.close()

    def __enter__(self) -> XlsxWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:  # nothing worth finishing: drop the half-written file's handles
            self._sheet.close()
            self._zip.close()
