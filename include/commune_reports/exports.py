"""Figures and facts for other tools: CSV and XLSX for analysts (through
:mod:`commune_reports.safe_export`, so no cell becomes a formula), and the facts as DHIS2
``dataValueSets`` JSON and as ADX XML (ISO 17369, IHE ADX) for a DHIS2 instance.

A DHIS2 instance aggregates by its own org unit hierarchy, so it is sent the facts (each
unit's own values, ``sql/queries/export_facts.sql``), never the marts' totals, which it would
count twice; rates are its indicators, made from the numerator and denominator data
elements. Codes come from ``catalog/dhis2.csv`` (metric -> data element, data set); org units
are the units' codes (GSO codes, the project's codes for district agencies), so the import
uses ``dataElementIdScheme=CODE&orgUnitIdScheme=CODE``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from openpyxl import Workbook
from sqlalchemy import Engine

from commune_reports.catalog import CATALOG_DIR, Catalog, load_catalog
from commune_reports.periods import canonical_range, parse_period, parse_period_range
from commune_reports.report import code_list, figure_rows, load_figures
from commune_reports.safe_export import set_cell, write_csv
from commune_reports.warehouse import query

ADX_NS = "urn:ihe:qrph:adx:2015"
FORMATS = ("csv", "xlsx", "dhis2", "adx")
FIGURE_COLUMNS = (
    "unit",
    "as_now",
    "metric",
    "level",
    "period",
    "value",
    "units_reporting",
    "units_expected",
    "reports_received",
    "reports_expected",
    "periods_included",
    "periods_expected",
    "complete",
    "checks",
)
FACT_COLUMNS = ("unit_code", "unit_name", "level", "metric_code", "regime", "period_code", "value")


class ExportError(ValueError):
    """Nothing to export, or a metric without a DHIS2 code."""


@dataclass(frozen=True)
class Dhis2Code:
    metric: str
    data_element: str
    data_set: str


def dhis2_codes(folder: Path | None = None) -> dict[str, Dhis2Code]:
    """metric code -> its DHIS2 codes, from ``dhis2.csv`` of the catalog folder in use (the
    project's when that folder has none)."""
    chosen = folder or Path(os.environ.get("COMMUNE_REPORTS_CATALOG_DIR") or CATALOG_DIR)
    path = chosen / "dhis2.csv"
    if not path.exists():
        path = CATALOG_DIR / "dhis2.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        r["metric_code"]: Dhis2Code(r["metric_code"], r["data_element"], r["data_set"])
        for r in rows
    }


def figure_table(engine: Engine, period: str, unit: str | None, as_now: bool) -> list[list[Any]]:
    """The rows of ``report --format json`` as a table of FIGURE_COLUMNS."""
    figures = load_figures(engine, period, unit=unit, as_now=as_now)
    if figures.empty:
        raise ExportError(f"chưa có số liệu cho kỳ {period} / no figures for {period}")
    out = []
    for row in figure_rows(figures):
        checks = "; ".join(f"{c['check']} {c['score']:+g}" for c in row["checks"])
        out.append([checks if k == "checks" else row[k] for k in FIGURE_COLUMNS])
    return out


def fact_table(
    engine: Engine, period: str, unit: str | None, as_now: bool, catalog: Catalog | None = None
) -> list[list[Any]]:
    """Each unit's own values under ``unit`` for ``period`` (a year brings its quarters),
    summed per unit of today with ``as_now``: a table of FACT_COLUMNS."""
    catalog = catalog or load_catalog()
    figures = load_figures(engine, period, catalog, unit=unit, as_now=as_now)
    if figures.unit is None:
        raise ExportError(f"chưa có số liệu cho kỳ {period} / no figures for {period}")
    params = {
        "basis": "now" if as_now else "reported",
        "unit_key": figures.unit.key,
        "code_list": code_list([p.code for p in parse_period_range(canonical_range(period))]),
    }
    with engine.connect() as conn:
        rows = conn.execute(query("export_facts"), params).all()
    return [[getattr(r, c) for c in FACT_COLUMNS] for r in rows]


def write_table(path: Path, header: tuple[str, ...], rows: list[list[Any]], fmt: str) -> Path:
    """CSV (UTF-8 with BOM) or XLSX, text never taken for a formula."""
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        sheet.title = "data"
        for col, name in enumerate(header, start=1):
            set_cell(sheet, 1, col, name)
        for r, row in enumerate(rows, start=2):
            for col, value in enumerate(row, start=1):
                set_cell(sheet, r, col, float(value) if isinstance(value, Decimal) else value)
        sheet.freeze_panes = "A2"
        book.save(path)
        return path
    return write_csv(path, rows, header)


def _value(value: Any) -> str:
    number = Decimal(str(value))
    return str(int(number)) if number == number.to_integral_value() else f"{number.normalize():f}"


def _coded(facts: list[list[Any]], codes: dict[str, Dhis2Code]) -> list[tuple[Dhis2Code, dict]]:
    columns = dict(zip(FACT_COLUMNS, range(len(FACT_COLUMNS)), strict=True))
    out = []
    missing = sorted({f[columns["metric_code"]] for f in facts} - set(codes))
    if missing:
        raise ExportError(
            f"chỉ tiêu chưa có mã DHIS2 / metrics without a DHIS2 code in dhis2.csv: "
            f"{', '.join(missing)}"
        )
    for f in facts:
        if f[columns["value"]] is None:
            continue  # a blank (a pending PAR Index): DHIS2 stores no empty value
        row = {k: f[i] for k, i in columns.items()}
        out.append((codes[row["metric_code"]], row))
    return out


def dhis2_data_value_set(facts: list[list[Any]], codes: dict[str, Dhis2Code]) -> dict[str, Any]:
    """The facts as a DHIS2 ``dataValueSets`` payload (codes, not UIDs)."""
    values = [
        {
            "dataElement": code.data_element,
            "period": row["period_code"],
            "orgUnit": row["unit_code"],
            "value": _value(row["value"]),
        }
        for code, row in _coded(facts, codes)
    ]
    return {"dataValues": values}


def adx_period(code: str) -> str:
    """ "2023Q4" -> "2023-10-01/P3M", "2023" -> "2023-01-01/P1Y" (ADX: start and duration)."""
    period = parse_period(code)
    return f"{period.start.isoformat()}/{'P3M' if period.quarter else 'P1Y'}"


def adx_document(
    facts: list[list[Any]], codes: dict[str, Dhis2Code], exported: dt.datetime | None = None
) -> bytes:
    """The facts as ADX XML: one ``group`` per org unit, period and data set."""
    moment = (exported or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    root = ElementTree.Element(f"{{{ADX_NS}}}adx", {"exported": moment.isoformat()})
    groups: dict[tuple[str, str, str], ElementTree.Element] = {}
    for code, row in _coded(facts, codes):
        key = (row["unit_code"], row["period_code"], code.data_set)
        if key not in groups:
            groups[key] = ElementTree.SubElement(
                root,
                f"{{{ADX_NS}}}group",
                {"orgUnit": key[0], "period": adx_period(key[1]), "dataSet": key[2]},
            )
        ElementTree.SubElement(
            groups[key],
            f"{{{ADX_NS}}}dataValue",
            {"dataElement": code.data_element, "value": _value(row["value"])},
        )
    ElementTree.register_namespace("", ADX_NS)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def export(
    engine: Engine,
    period: str,
    out: Path,
    fmt: str,
    what: str = "figures",
    unit: str | None = None,
    as_now: bool = False,
) -> int:
    """Write the export to ``out``; the number of rows or data values written."""
    catalog = load_catalog()
    if fmt in ("dhis2", "adx") or what == "facts":
        facts = fact_table(engine, period, unit, as_now, catalog)
        if fmt in ("csv", "xlsx"):
            write_table(out, FACT_COLUMNS, facts, fmt)
            return len(facts)
        codes = dhis2_codes()
        if fmt == "dhis2":
            payload = dhis2_data_value_set(facts, codes)
            out.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
            return len(payload["dataValues"])
        document = adx_document(facts, codes)
        out.write_bytes(document)
        return document.count(b"<dataValue ")
    rows = figure_table(engine, period, unit, as_now)
    write_table(out, FIGURE_COLUMNS, rows, fmt)
    return len(rows)
