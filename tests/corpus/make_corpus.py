"""A corpus of messy and hostile report files, each with its expected outcome.

    .venv/bin/python tests/corpus/make_corpus.py OUT_DIR            # write files + expected.json
    .venv/bin/python tests/corpus/make_corpus.py --measure OUT_DIR  # also parse each file alone
                                                                    # and print time and memory

Every case is a file as a unit might deliver it (the formats, the ways people alter the form,
legacy fonts, typed numbers) or as an attacker or a broken copy would (bombs, huge used range,
entities, passwords, wrong kinds of file, odd names). Accepted cases carry the exact values the
warehouse must hold; rejected cases the rule that must be among the file's errors. Each accepted
case uses its own unit and period, so none supersedes another in one batch.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import json
import os
import re
import shutil
import sys
import time
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from commune_reports import form_layout as L
from commune_reports.catalog import load_catalog
from commune_reports.periods import parse_period
from commune_reports.sample_data import sample_values
from commune_reports.template import write_form

OLD_MTIME = 1_700_000_000  # 2023-11-14: delivered long ago, so never "still arriving"
TCVN3_FROM = {v: k for k, v in __import__("commune_reports.legacy").legacy.TCVN3_TO_UNICODE.items()}


@dataclass
class Case:
    name: str  # the file name as delivered
    outcome: str  # accepted | rejected | duplicate
    what: str
    unit: str | None = None
    period: str | None = None
    values: dict[str, str | None] = field(default_factory=dict)  # metric -> exact value
    rules: list[str] = field(default_factory=list)  # rules that must be among the errors
    cell: str | None = None  # cell named by the first rule, when there is one
    hostile: bool = False
    build: Callable[[Path], None] | None = field(default=None, repr=False)


# --------------------------------------------------------------------------- the logical form

SAMPLE = sample_values()
CATALOG = load_catalog()


def form_values(unit: str, period: str) -> dict[str, Any]:
    return dict(SAMPLE[(unit, period)])


def grid(
    unit: str,
    period: str,
    values: dict[str, Any] | None = None,
    heading: str | None = None,
    label_line: str | None = None,
    stamp: str | None = None,
) -> list[list[Any]]:
    """The rows of the district's form, as ``template.write_form`` lays them out."""
    p = parse_period(period)
    unit_row = CATALOG.unit_on(unit, p.end)
    regime = CATALOG.regime_for(unit_row, p.period_type)
    metrics = CATALOG.form_metrics(regime, unit_row)
    values = form_values(unit, period) if values is None else values
    rows: list[list[Any]] = [
        [heading if heading is not None else L.heading_name(unit_row.name, unit_row.kind)],
        [L.TITLE],
        [label_line if label_line is not None else f"Kỳ báo cáo: {p.label_vi}"],
        [stamp if stamp is not None else L.stamp_line(unit, period)],
        [],
        list(L.HEADERS),
    ]
    for i, m in enumerate(metrics, start=1):
        rows.append([i, m.code, m.label, m.unit_of_measure, values.get(m.code), None])
    rows += [[], [L.SIGNATURE]]
    return rows


def expected(values: dict[str, Any]) -> dict[str, str | None]:
    return {k: (None if v is None else str(Decimal(str(v)).normalize())) for k, v in values.items()}


def drop_column(rows: list[list[Any]], col: int) -> list[list[Any]]:
    return [r[:col] + r[col + 1 :] if len(r) > col else r for r in rows]


def move_column(rows: list[list[Any]], src: int, dst: int) -> list[list[Any]]:
    out = []
    for r in rows:
        r = list(r) + [None] * (6 - len(r)) if len(r) > 1 else list(r)
        if len(r) > max(src, dst):
            r.insert(dst, r.pop(src))
        out.append(r)
    return out


# --------------------------------------------------------------------------- writers


def write_xlsx(
    rows: list[list[Any]],
    path: Path,
    sheet: str = L.SHEET_NAME,
    merged: tuple[str, ...] = (),
    extra: dict[str, list[list[Any]]] | None = None,
    hidden: dict[str, list[list[Any]]] | None = None,
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    first.title = sheet
    for r in rows:
        first.append(r)
    for ref in merged:
        first.merge_cells(ref)
    for name, data in (extra or {}).items():
        ws = book.create_sheet(name)
        for r in data:
            ws.append(r)
    for name, data in (hidden or {}).items():
        ws = book.create_sheet(name)
        for r in data:
            ws.append(r)
        ws.sheet_state = "hidden"
    book.save(path)


def write_xls(rows: list[list[Any]], path: Path, sheet: str = L.SHEET_NAME) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    book.save(str(path))


def write_ods(rows: list[list[Any]], path: Path, sheet: str = L.SHEET_NAME) -> None:
    cells = []
    for row in rows:
        out = []
        for value in row:
            if value is None:
                out.append("<table:table-cell/>")
            elif isinstance(value, int | float):
                out.append(
                    f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{value}</text:p></table:table-cell>"
                )
            else:
                out.append(
                    f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
                    "</text:p></table:table-cell>"
                )
        cells.append(f"<table:table-row>{''.join(out) or '<table:table-cell/>'}</table:table-row>")
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} '
        f'office:version="1.2"><office:body><office:spreadsheet><table:table table:name="{sheet}">'
        f"{''.join(cells)}</table:table></office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
        'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as book:
        book.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.spreadsheet",
            zipfile.ZIP_STORED,
        )
        book.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        book.writestr("content.xml", content, zipfile.ZIP_DEFLATED)


def write_csv(
    rows: list[list[Any]], path: Path, encoding: str, delimiter: str = ",", numbers=str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else numbers(v) for v in row])
    text = buffer.getvalue()
    if encoding == "cp1258":
        # Vietnamese Windows stores tone marks as combining characters (NFD-like)
        data = to_cp1258(text)
    elif encoding == "utf-16":
        data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    else:
        data = text.encode(encoding)
    path.write_bytes(data)


def to_cp1258(text: str) -> bytes:
    """Windows-1258 has â, ê, ô, ơ, ư, ă, đ as letters and the five tones as combining marks."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            tones = "".join(m for m in parts if m in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", "".join(m for m in parts if m not in tones))
            out.append((base + tones).encode("cp1258"))
    return b"".join(out)


def patch_xlsx(source: Path, out: Path, edit: Callable[[str, bytes], bytes | None]) -> None:
    """Copy an xlsx part by part; ``edit(name, data)`` returns new bytes, or None to keep."""
    with zipfile.ZipFile(source) as book:
        entries = [(info, book.read(info)) for info in book.infolist()]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for info, data in entries:
            new = edit(info.filename, data)
            book.writestr(info.filename, data if new is None else new)


def patched_form(
    unit: str, period: str, out: Path, edit: Callable[[bytes], bytes], part: str = "sheet1.xml"
) -> None:
    """A good filled form with one part rewritten by ``edit``: how most broken or hostile
    corpus files are made from a valid one."""
    base = out.with_suffix(".base.xlsx")
    write_form(unit, period, base, form_values(unit, period))
    patch_xlsx(base, out, lambda name, data: edit(data) if name.endswith(part) else None)
    base.unlink()


def to_tcvn3(text: str) -> str:
    return "".join(TCVN3_FROM.get(c, c) for c in unicodedata.normalize("NFC", text).lower())


_VNI_FROM: dict[str, str] = {}


def to_vni(text: str) -> str:
    from commune_reports.legacy import VNI_TO_UNICODE

    if not _VNI_FROM:
        for k, v in VNI_TO_UNICODE.items():
            _VNI_FROM.setdefault(v, k)
    return "".join(_VNI_FROM.get(c, c) for c in unicodedata.normalize("NFC", text))


def old_tones(text: str) -> str:
    """Old-style tone placement as people still type it: "hòa" -> "hoà", "ủy" -> "uỷ"."""
    swaps = {"òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ", "ủy": "uỷ", "úy": "uý"}
    swaps |= {k.upper(): v.upper() for k, v in swaps.items()}
    for new, old in swaps.items():
        text = re.sub(f"{new}(?![^\\W\\d_])", old, text)
    return text


# --------------------------------------------------------------------------- the cases


def cases() -> list[Case]:
    out: list[Case] = []

    def accepted(name, what, unit, period, build, values=None):
        vals = form_values(unit, period) if values is None else values
        out.append(Case(name, "accepted", what, unit, period, expected(vals), build=build))

    def rejected(name, what, rules, build, cell=None, hostile=False, unit=None, period=None):
        out.append(
            Case(
                name,
                "rejected",
                what,
                unit,
                period,
                rules=rules,
                cell=cell,
                hostile=hostile,
                build=build,
            )
        )

    # ---- formats
    accepted(
        "30037_2021Q1.xlsx",
        "the district's own form, untouched",
        "30037",
        "2021Q1",
        lambda p: write_form("30037", "2021Q1", p, form_values("30037", "2021Q1")),
    )
    accepted(
        "30040_2021Q1.xls",
        "saved as Excel 97-2003 .xls",
        "30040",
        "2021Q1",
        lambda p: write_xls(grid("30040", "2021Q1"), p),
    )
    accepted(
        "30043_2021Q1.ods",
        "saved as OpenDocument .ods",
        "30043",
        "2021Q1",
        lambda p: write_ods(grid("30043", "2021Q1"), p),
    )
    accepted(
        "30046_2021Q1.csv",
        "exported to CSV, UTF-8",
        "30046",
        "2021Q1",
        lambda p: write_csv(grid("30046", "2021Q1"), p, "utf-8"),
    )
    accepted(
        "30049_2021Q1.csv",
        "CSV UTF-8 with BOM, semicolons (Excel, Vietnamese locale)",
        "30049",
        "2021Q1",
        lambda p: write_csv(grid("30049", "2021Q1"), p, "utf-8-sig", ";"),
    )
    accepted(
        "30052_2021Q1.csv",
        "CSV in Windows-1258 (tone marks as combining characters)",
        "30052",
        "2021Q1",
        lambda p: write_csv(grid("30052", "2021Q1"), p, "cp1258"),
    )
    accepted(
        "30055_2021Q1.csv",
        "Excel 'Unicode text': UTF-16 with BOM, tabs",
        "30055",
        "2021Q1",
        lambda p: write_csv(grid("30055", "2021Q1"), p, "utf-16", "\t"),
    )
    accepted(
        "30058_2021Q1.csv",
        "CSV with numbers typed the Vietnamese way ('2.384')",
        "30058",
        "2021Q1",
        lambda p: write_csv(
            grid(
                "30058",
                "2021Q1",
                {
                    k: (v + 2000 if v is not None else v)
                    for k, v in form_values("30058", "2021Q1").items()
                },
            ),
            p,
            "utf-8",
            numbers=lambda v: f"{v:,}".replace(",", ".") if isinstance(v, int) else str(v),
        ),
        values={
            k: (v + 2000 if v is not None else v) for k, v in form_values("30058", "2021Q1").items()
        },
    )

    # ---- altered layouts
    def header_moved(p: Path) -> None:
        rows = grid("30061", "2021Q1")
        rows = [
            *rows[:4],
            [],
            ["Căn cứ Kế hoạch số 12/KH-UBND"],
            ["(Kèm theo Quyết định số 1234/QĐ-UBND năm 2020)"],
            [],
            *rows[4:],
        ]
        write_xlsx(rows, p, merged=("A1:F1", "A2:F2", "A3:F3"))

    accepted(
        "30061_2021Q1.xlsx",
        "header row moved down, merged title cells",
        "30061",
        "2021Q1",
        header_moved,
    )

    def columns_moved(p: Path) -> None:
        rows = grid("30064", "2021Q1")
        rows = move_column(rows, 4, 1)  # Kết quả right after STT
        rows = [[*r, "x"] if i == 5 else r for i, r in enumerate(rows)]
        write_xlsx(rows, p)

    accepted(
        "30064_2021Q1.xlsx",
        "columns moved (values in B), an extra column",
        "30064",
        "2021Q1",
        columns_moved,
    )

    def no_code_column(p: Path) -> None:
        rows = grid("30067", "2021Q1")
        for r in rows[6:]:
            if len(r) > 2 and isinstance(r[2], str):
                r[2] = unicodedata.normalize("NFD", "  " + old_tones(r[2]).upper() + "¹ ")
        write_xlsx(drop_column(rows, 1), p)

    accepted(
        "30067_2021Q1.xlsx",
        "code column deleted; labels in capitals, NFD, old tone marks, footnotes, spaces",
        "30067",
        "2021Q1",
        no_code_column,
    )

    def rows_reordered(p: Path) -> None:
        rows = grid("30070", "2021Q1")
        body = rows[6:-2]
        body.reverse()
        body.insert(2, [None, None, "I. Tiếp công dân, giải quyết khiếu nại", None, None, None])
        body.insert(5, [])
        del rows[6:-2]
        rows[6:6] = body
        write_xlsx(rows, p)

    accepted(
        "30070_2021Q1.xlsx",
        "rows reversed, section heading and blank rows inserted",
        "30070",
        "2021Q1",
        rows_reordered,
    )

    accepted(
        "30073_2021Q1.xlsx",
        "sheet renamed, a notes sheet added before it",
        "30073",
        "2021Q1",
        lambda p: write_xlsx(
            grid("30073", "2021Q1"),
            p,
            sheet="Quy 1",
            extra={"Ghi chu": [["Số liệu đã được Chủ tịch UBND xã ký duyệt"]]},
        ),
    )
    accepted(
        "30037_2021Q2.xlsx",
        "a hidden sheet holding another form is ignored",
        "30037",
        "2021Q2",
        lambda p: write_xlsx(
            grid("30037", "2021Q2"),
            p,
            hidden={"Nhap": grid("30037", "2021Q2", {"dissemination_sessions": 999})},
        ),
    )

    def totals_ok(p: Path) -> None:
        rows = grid("30040", "2021Q2")
        total = sum(v for v in form_values("30040", "2021Q2").values() if v is not None)
        rows.insert(-2, [None, None, "Tổng cộng", None, total, None])
        write_xlsx(rows, p)

    accepted(
        "30040_2021Q2.xlsx", "a correct 'Tổng cộng' row, ignored", "30040", "2021Q2", totals_ok
    )

    def text_numbers(p: Path) -> None:
        vals = form_values("30043", "2021Q2")
        vals["dossiers_received_total"] = 2384
        vals["dossiers_received_online"] = 1202
        rows = grid("30043", "2021Q2", {k: v for k, v in vals.items()})
        for r in rows:
            if len(r) > 4 and r[1] == "dossiers_received_total":
                r[4] = "2.384"
            if len(r) > 4 and r[1] == "dossiers_received_online":
                r[4] = " 1 202 "
        write_xlsx(rows, p)

    vals = form_values("30043", "2021Q2") | {
        "dossiers_received_total": 2384,
        "dossiers_received_online": 1202,
    }
    accepted(
        "30043_2021Q2.xlsx",
        "numbers typed as text: '2.384', ' 1 202 '",
        "30043",
        "2021Q2",
        text_numbers,
        values=vals,
    )

    accepted(
        "bao_cao_quy_2.xlsx",
        "no stamps: unit from the heading (old tone marks), period from 'Quí II/2021'",
        "30052",
        "2021Q2",
        lambda p: write_xlsx(
            grid(
                "30052",
                "2021Q2",
                heading="ỦY BAN NHÂN DÂN XÃ MỸ HOÀ",
                label_line="Kỳ báo cáo: Quí II/2021",
                stamp="",
            ),
            p,
        ),
    )
    accepted(
        "30058_2021Q2.xlsx",
        "no stamps, no heading, no period line: all from the file name",
        "30058",
        "2021Q2",
        lambda p: write_xlsx(
            grid("30058", "2021Q2", heading="BÁO CÁO", label_line="", stamp=""), p
        ),
    )
    accepted(
        "my_qui.xlsx",
        "no stamps: 'UBND xã Mỹ Quí' found through the catalog alias",
        "30055",
        "2021Q2",
        lambda p: write_xlsx(grid("30055", "2021Q2", heading="UBND xã Mỹ Quí", stamp=""), p),
    )

    def merged_header(p: Path) -> None:
        rows = grid("30061", "2021Q2")
        rows.insert(6, ["(1)", None, "(2)", "(3)", None, "(5)"])
        write_xlsx(rows, p, merged=("B6:B7", "E6:E7"))

    accepted(
        "30061_2021Q2.xlsx",
        "header merged over two rows, a column-numbering row",
        "30061",
        "2021Q2",
        merged_header,
    )

    def tcvn3(p: Path) -> None:
        rows = grid("30064", "2021Q2")
        rows = drop_column(rows, 1)
        for r in rows:
            for c, v in enumerate(r):
                if isinstance(v, str) and not v.startswith(("Mã đơn vị", "Người")):
                    r[c] = to_tcvn3(v)
        write_xls(rows, p)

    accepted(
        "30064_2021Q2.xls",
        "old .xls typed in TCVN3 (.VnTime), no code column: converted",
        "30064",
        "2021Q2",
        tcvn3,
    )

    def vni(p: Path) -> None:
        rows = grid("30067", "2021Q2")
        for r in rows:
            for c, v in enumerate(r):
                if isinstance(v, str) and not v.startswith("Mã đơn vị"):
                    r[c] = to_vni(v)
        write_xlsx(rows, p)

    accepted(
        "30067_2021Q2.xlsx", "text typed in VNI (VNI-Times): converted", "30067", "2021Q2", vni
    )

    def evaluation(p: Path) -> None:
        vals = form_values("872", "2023")
        rows = grid("872", "2023", vals)
        for r in rows:
            if len(r) > 4 and r[1] == "mass_mobilization_score":
                r[4] = "97,05"
        write_xlsx(rows, p)

    accepted(
        "872_2023.xlsx",
        "evaluation form: score typed '97,05', ranks pending (blank)",
        "872",
        "2023",
        evaluation,
    )

    def cached_formula(p: Path) -> None:
        total = form_values("30070", "2021Q2")["dossiers_received_total"]
        patched_form(
            "30070",
            "2021Q2",
            p,
            lambda d: re.sub(
                rb'<c r="E12"([^>]*)><v>[^<]*</v></c>',
                f'<c r="E12"\\1><f>{total - 1}+1</f><v>{total}</v></c>'.encode(),
                d,
            ),
        )

    accepted(
        "30070_2021Q2.xlsx", "a formula with its saved result", "30070", "2021Q2", cached_formula
    )

    def nfd(p: Path) -> None:
        rows = grid("30073", "2021Q2")
        rows = [
            [unicodedata.normalize("NFD", v) if isinstance(v, str) else v for v in r] for r in rows
        ]
        write_xlsx(rows, p)

    accepted("30073_2021Q2.xlsx", "every text in NFD", "30073", "2021Q2", nfd)

    accepted(
        "872-TTR_2021Q1.xlsx",
        "an agency form, heading in mixed case with stray spaces",
        "872-TTR",
        "2021Q1",
        lambda p: write_xlsx(grid("872-TTR", "2021Q1", heading="  Thanh  tra   huyện "), p),
    )
    out.append(
        Case(
            "copy of 30037_2021Q1.xlsx",
            "duplicate",
            "the same bytes again, another name",
            "30037",
            "2021Q1",
            build=lambda p: write_form("30037", "2021Q1", p, form_values("30037", "2021Q1")),
        )
    )

    # ---- rejected: cell-level problems
    def with_value(unit, period, metric, raw, writer=write_xlsx):
        def build(p: Path) -> None:
            rows = grid(unit, period)
            for r in rows:
                if len(r) > 4 and r[1] == metric:
                    r[4] = raw
            writer(rows, p)

        return build

    rejected(
        "30037_2021Q3.xlsx",
        "'1,234' typed in a count: thousands or a decimal?",
        ["ambiguous_number"],
        with_value("30037", "2021Q3", "dossiers_received_total", "1,234"),
        cell="E12",
    )
    rejected(
        "30040_2021Q3.xlsx",
        "'hơn 256' instead of a figure",
        ["qualified_number"],
        with_value("30040", "2021Q3", "dissemination_sessions", "hơn 256"),
        cell="E7",
    )
    rejected(
        "30043_2021Q3.csv",
        "'trên 99%' in a CSV",
        ["qualified_number"],
        with_value(
            "30043",
            "2021Q3",
            "dossiers_resolved_on_time",
            "trên 99%",
            lambda rows, p: write_csv(rows, p, "utf-8"),
        ),
        cell="E15",
    )
    rejected(
        "30046_2021Q3.xlsx",
        "a word instead of a number",
        ["not_a_number"],
        with_value("30046", "2021Q3", "dialogue_sessions", "mười hai"),
        cell="E9",
    )
    rejected(
        "30049_2021Q3.xlsx",
        "'84.43': an English decimal point",
        ["ambiguous_number"],
        with_value("30049", "2021Q3", "citizen_reception_sessions", "84.43"),
        cell="E8",
    )

    def no_cached(p: Path) -> None:
        rows = grid("30052", "2021Q3")
        for r in rows:
            if len(r) > 4 and r[1] == "dossiers_received_total":
                r[4] = "=SUM(1,2)"  # openpyxl stores a formula and no result
        write_xlsx(rows, p)

    rejected(
        "30052_2021Q3.xlsx",
        "a formula never computed (no saved value)",
        ["formula_without_value"],
        no_cached,
        cell="E12",
    )

    def formula_error(p: Path) -> None:
        patched_form(
            "30055",
            "2021Q3",
            p,
            lambda d: re.sub(
                rb'<c r="E13"([^>]*)><v>[^<]*</v></c>',
                b'<c r="E13" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
                d,
            ),
        )

    rejected(
        "30055_2021Q3.xlsx",
        "a formula whose saved result is #DIV/0!",
        ["formula_error"],
        formula_error,
        cell="E13",
    )

    def totals_bad(p: Path) -> None:
        rows = grid("30058", "2021Q3")
        rows.insert(-2, [None, None, "Tổng cộng", None, 1, None])
        write_xlsx(rows, p)

    rejected(
        "30058_2021Q3.xlsx",
        "a 'Tổng cộng' row that does not add up",
        ["totals_mismatch"],
        totals_bad,
    )
    rejected(
        "bao_cao_my_an.xlsx",
        "no stamps, heading 'UBND MỸ AN': the town or the commune?",
        ["ambiguous_unit_name"],
        lambda p: write_xlsx(grid("30064", "2021Q3", heading="ỦY BAN NHÂN DÂN MỸ AN", stamp=""), p),
        cell="A1",
    )
    rejected(
        "30061_2021Q3.xlsx",
        "stamp says 30061, heading says Xã Mỹ Đông",
        ["unit_conflict"],
        lambda p: write_xlsx(grid("30061", "2021Q3", heading="ỦY BAN NHÂN DÂN XÃ MỸ ĐÔNG"), p),
        cell="A1",
    )
    rejected(
        "30064_2021Q3.xlsx",
        "stamp 2021Q3, title line 'Quý II/2021'",
        ["period_conflict"],
        lambda p: write_xlsx(grid("30064", "2021Q3", label_line="Kỳ báo cáo: Quý II/2021"), p),
        cell="A3",
    )
    rejected(
        "30058_2021Q4.xlsx",
        "no stamps; the heading names Mỹ Hòa, the file name 30058",
        ["unit_conflict"],
        lambda p: write_xlsx(grid("30052", "2021Q4", stamp=""), p),
    )

    def mixed_legacy(p: Path) -> None:
        rows = grid("30067", "2021Q3")
        for r in rows[6:]:
            if len(r) > 2 and isinstance(r[2], str):
                r[2] = to_tcvn3(r[2]) if r[0] % 2 else to_vni(r[2])
        write_xlsx(drop_column(rows, 1), p)

    rejected(
        "30067_2021Q3.xlsx",
        "labels half TCVN3, half VNI: no certain conversion",
        ["legacy_encoding"],
        mixed_legacy,
    )
    rejected(
        "30070_2021Q3.xlsx",
        "a sheet that is not the form",
        ["no_header"],
        lambda p: write_xlsx(
            [["Danh sách cán bộ"], ["Họ tên", "Chức vụ"], ["Nguyễn Văn A", "Chủ tịch"]], p
        ),
    )
    rejected(
        "30073_2021Q3.xlsx",
        "two form sheets, neither named BaoCao",
        ["several_form_sheets"],
        lambda p: write_xlsx(
            grid("30073", "2021Q3"), p, sheet="Quy 3", extra={"Quy 2": grid("30073", "2021Q2")}
        ),
    )

    def unknown_label(p: Path) -> None:
        rows = drop_column(grid("30037", "2021Q4"), 1)
        rows[7][1] = "Số buổi họp dân"  # not a metric of the form
        write_xlsx(rows, p)

    rejected(
        "30037_2021Q4.xlsx",
        "no code column and a label that is not on the form",
        ["unknown_metric_label"],
        unknown_label,
        cell="B8",
    )

    def stray_value(p: Path) -> None:
        rows = grid("30052", "2022Q1")
        rows.insert(-2, [None, None, None, None, 17, None])  # a figure on a row with no metric
        write_xlsx(rows, p)

    rejected(
        "30052_2022Q1.xlsx",
        "a figure on a row that names no metric",
        ["value_without_metric"],
        stray_value,
        cell="E16",
    )

    # ---- rejected: hostile and broken files
    def far_range(p: Path) -> None:
        patched_form(
            "30040",
            "2021Q4",
            p,
            lambda d: d.replace(
                b"</sheetData>",
                b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
                b"</sheetData>",
            ),
        )

    rejected(
        "30040_2021Q4.xlsx",
        "5 KB, used range to the last row and column (XFD1048576)",
        ["sheet_too_large"],
        far_range,
        hostile=True,
    )

    def zip_bomb(p: Path) -> None:
        base = p.with_suffix(".base.xlsx")
        write_form("30043", "2021Q4", base, form_values("30043", "2021Q4"))
        shutil.copyfile(base, p)
        with (
            zipfile.ZipFile(p, "a", zipfile.ZIP_DEFLATED) as book,
            book.open("xl/media/padding.bin", "w", force_zip64=True) as part,
        ):
            block = b"\0" * (1 << 20)
            for _ in range(150):
                part.write(block)
        base.unlink()

    rejected(
        "30043_2021Q4.xlsx",
        "zip bomb: 150 MB of zeros packed in a few hundred KB",
        ["zip_bomb"],
        zip_bomb,
        hostile=True,
    )

    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
            for i in range(1, 10)
        )
        + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        b'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )

    def entity_bomb(p: Path) -> None:
        patched_form("30046", "2021Q4", p, lambda _: laughs, part="xl/styles.xml")

    rejected(
        "30046_2021Q4.xlsx",
        "XML entity bomb ('billion laughs') in a part",
        ["xml_doctype"],
        entity_bomb,
        hostile=True,
    )

    def xxe(p: Path) -> None:
        doctype = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'

        def edit(data: bytes) -> bytes:
            if data.startswith(b"<?xml"):
                end = data.index(b"?>") + 2
                return data[:end] + doctype + data[end:]
            return doctype + data

        patched_form("30049", "2021Q4", p, edit)

    rejected(
        "30049_2021Q4.xlsx",
        "external entity (XXE) pointing at /etc/passwd",
        ["xml_doctype"],
        xxe,
        hostile=True,
    )

    def truncated(p: Path) -> None:
        base = p.with_suffix(".base.xlsx")
        write_form("30052", "2021Q4", base, form_values("30052", "2021Q4"))
        data = base.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        base.unlink()

    rejected(
        "30052_2021Q4.xlsx", "truncated: half of a form", ["truncated"], truncated, hostile=True
    )
    rejected(
        "30055_2021Q4.xlsx",
        "password-protected (encrypted OOXML in an OLE file)",
        ["password_protected"],
        lambda p: p.write_bytes(encrypted_ole()),
        hostile=True,
    )
    rejected(
        "30061_2021Q4.xlsx",
        "a PDF renamed .xlsx",
        ["not_a_spreadsheet"],
        lambda p: p.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"),
        hostile=True,
    )
    rejected(
        "30064_2021Q4.xlsx",
        "a text file renamed .xlsx",
        ["not_a_spreadsheet"],
        lambda p: p.write_text("Kết quả quý 4: 12 cuộc\n", "utf-8"),
        hostile=True,
    )
    rejected(
        "30067_2021Q4.xls",
        "a web page saved as .xls",
        ["not_a_spreadsheet"],
        lambda p: p.write_text(
            "<html><body><table><tr><td>Kết quả</td></tr></table></body></html>", "utf-8"
        ),
        hostile=True,
    )

    def docx(p: Path) -> None:
        with zipfile.ZipFile(p, "w") as book:
            book.writestr("[Content_Types].xml", "<Types/>")
            book.writestr("word/document.xml", "<w:document/>")

    rejected(
        "30070_2021Q4.xlsx",
        "a Word document renamed .xlsx",
        ["not_a_spreadsheet"],
        docx,
        hostile=True,
    )

    def huge(p: Path) -> None:
        with p.open("wb") as handle:
            handle.write(b"PK\x03\x04")
            handle.truncate(100 * 1024 * 1024)

    rejected("30073_2021Q4.xlsx", "a 100 MB file", ["file_too_large"], huge, hostile=True)
    rejected(
        "30037_2022Q1\x07\x1b[2J.xlsx",
        "control characters in the name",
        ["unsafe_file_name"],
        lambda p: write_form("30037", "2022Q1", p, form_values("30037", "2022Q1")),
        hostile=True,
    )
    rejected(
        "..\\..\\30040_2022Q1.xlsx",
        "a Windows path with '..' in the name",
        ["unsafe_file_name"],
        lambda p: write_form("30040", "2022Q1", p, form_values("30040", "2022Q1")),
        hostile=True,
    )
    rejected(
        "30043_2022Q1.xlsx",
        "an empty file (0 bytes)",
        ["empty_file"],
        lambda p: p.write_bytes(b""),
        hostile=True,
    )

    def zip_slip(p: Path) -> None:
        base = p.with_suffix(".base.xlsx")
        write_form("30046", "2022Q1", base, form_values("30046", "2022Q1"))
        shutil.copyfile(base, p)
        with zipfile.ZipFile(p, "a") as book:
            book.writestr("../../../../tmp/evil.sh", "rm -rf /")
        base.unlink()

    rejected(
        "30046_2022Q1.xlsx",
        "a part named '../../../../tmp/evil.sh' (zip slip)",
        ["unsafe_zip_entry"],
        zip_slip,
        hostile=True,
    )
    rejected(
        "30049_2022Q1.csv",
        "binary bytes named .csv",
        ["unknown_encoding"],
        lambda p: p.write_bytes(bytes(range(128, 256)) * 8),
        hostile=True,
    )
    return out


def encrypted_ole() -> bytes:
    """A compound file as Office writes an encrypted workbook: root, EncryptionInfo and
    EncryptedPackage streams (the content itself is never read)."""
    sector = 512
    header = bytearray(sector)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[0x18:0x1A] = (0x3E).to_bytes(2, "little")  # minor version
    header[0x1A:0x1C] = (3).to_bytes(2, "little")  # major version 3
    header[0x1C:0x1E] = b"\xfe\xff"  # little endian
    header[0x1E:0x20] = (9).to_bytes(2, "little")  # 512-byte sectors
    header[0x20:0x22] = (6).to_bytes(2, "little")  # 64-byte mini sectors
    header[0x2C:0x30] = (1).to_bytes(4, "little")  # one FAT sector
    header[0x30:0x34] = (1).to_bytes(4, "little")  # directory starts at sector 1
    header[0x38:0x3C] = (4096).to_bytes(4, "little")
    header[0x3C:0x40] = (0xFFFFFFFE).to_bytes(4, "little")
    header[0x44:0x48] = (0xFFFFFFFE).to_bytes(4, "little")
    header[0x4C:0x50] = (0).to_bytes(4, "little")  # FAT in sector 0
    for i in range(1, 109):
        header[0x4C + 4 * i : 0x50 + 4 * i] = b"\xff\xff\xff\xff"
    fat = bytearray(b"\xff" * sector)
    fat[0:4] = (0xFFFFFFFD).to_bytes(4, "little")  # sector 0: FAT
    fat[4:8] = (0xFFFFFFFE).to_bytes(4, "little")  # sector 1: directory, end of chain
    directory = bytearray()
    for name, kind in (("Root Entry", 5), ("EncryptionInfo", 2), ("EncryptedPackage", 2)):
        entry = bytearray(128)
        encoded = (name + "\0").encode("utf-16-le")
        entry[: len(encoded)] = encoded
        entry[0x40:0x42] = len(encoded).to_bytes(2, "little")
        entry[0x42] = kind
        entry[0x44:0x50] = b"\xff" * 12
        directory += entry
    directory += bytes(sector - len(directory))
    return bytes(header) + bytes(fat) + bytes(directory)


def make_corpus(folder: Path) -> list[Case]:
    """Write every case's file into ``folder`` (old modification times) and expected.json."""
    folder.mkdir(parents=True, exist_ok=True)
    made = cases()
    for case in made:
        path = folder / case.name
        case.build(path)
        os.utime(path, (OLD_MTIME, OLD_MTIME))
    manifest = [{k: v for k, v in asdict(c).items() if k != "build"} for c in made]
    (folder / "expected.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8"
    )
    return made


def measure(folder: Path, made: list[Case]) -> list[dict[str, Any]]:
    """Parse each file alone in a fresh one-worker pool: outcome, seconds, worker peak RSS."""
    from commune_reports.workers import ParsePool

    rows = []
    for case in made:
        started = time.perf_counter()
        with ParsePool(workers=1) as pool:
            (form,) = pool.parse([(str(folder / case.name), case.name)])
        rows.append(
            {
                "file": case.name,
                "expected": case.outcome,
                "rules": sorted({p.rule for p in form.problems}),
                "seconds": time.perf_counter() - started,
                "parse_seconds": pool.stats.seconds.get(0),
                "worker_peak_mib": pool.stats.peak_rss_kb.get(0, 0) / 1024,
                "hostile": case.hostile,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--measure", action="store_true")
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    made = make_corpus(args.out)
    counts: dict[str, int] = {}
    for case in made:
        counts[case.outcome] = counts.get(case.outcome, 0) + 1
    print(f"{len(made)} files in {args.out}: {counts}, hostile {sum(c.hostile for c in made)}")
    if args.measure:
        rows = measure(args.out, made)
        print(f"{'file':<36}{'rules':<34}{'s':>7}{'MiB':>8}")
        for r in rows:
            print(
                f"{r['file'][:35]!s:<36}{','.join(r['rules'])[:33]:<34}"
                f"{r['parse_seconds'] or 0:>7.3f}{r['worker_peak_mib']:>8.1f}"
            )
        hostile = [r for r in rows if r["hostile"]]
        worst_t = max(hostile, key=lambda r: r["parse_seconds"] or 0)
        worst_m = max(hostile, key=lambda r: r["worker_peak_mib"])
        print(
            f"worst hostile file: {worst_t['parse_seconds']:.3f} s ({worst_t['file']!r}), "
            f"{worst_m['worker_peak_mib']:.1f} MiB worker peak RSS ({worst_m['file']!r})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
