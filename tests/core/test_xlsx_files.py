"""The streaming XLSX writer: files a spreadsheet reader opens, every cell text."""

from __future__ import annotations

import io
import zipfile

import openpyxl

from core.xlsx_files import XlsxWriter


def written(rows: list[list[str]]) -> bytes:
    buffer = io.BytesIO()
    with XlsxWriter(buffer, sheet_name="Credentials & more") as sheet:
        sheet.append(rows[0])
        sheet.extend(rows[1:])
    return buffer.getvalue()


def test_cells_are_text_escaped_and_cleaned_in_order() -> None:
    content = written([
        ["Username", "Display name"],
        ["alice", '=HYPERLINK("http://evil.example")'],
        ["bob", "Tom & Jerry <team> \"quoted\" 'single'"],
        ["carol", "bell\x07 and nul\x00 dropped"],  # a NUL in a value: the careful path
        ["dave", "  spaces kept  "],
        ["+12095550100", "0012"],  # never numbers
    ])

    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["Credentials & more"]
    cells = [[(cell.value, cell.data_type) for cell in row]
             for row in workbook["Credentials & more"].iter_rows()]
    assert cells == [
        [("Username", "s"), ("Display name", "s")],
        [("alice", "s"), ('=HYPERLINK("http://evil.example")', "s")],
        [("bob", "s"), ("Tom & Jerry <team> \"quoted\" 'single'", "s")],
        [("carol", "s"), ("bell and nul dropped", "s")],
        [("dave", "s"), ("  spaces kept  ", "s")],
        [("+12095550100", "s"), ("0012", "s")],
    ]


def test_the_package_has_the_parts_spreadsheets_need() -> None:
    with zipfile.ZipFile(io.BytesIO(written([["a"]]))) as package:
        assert package.testzip() is None
        assert set(package.namelist()) == {
            "[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml"}
