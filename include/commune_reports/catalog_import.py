"""Build the unit catalog from the pinned ``vietnamadminunits`` package instead of by hand.

The package ships the GSO lists: before the reform (``admin_units_legacy``: 63 provinces,
696 districts, 10,035 communes, each with its codes) and after it (``admin_units``: 34
provinces, 3,321 communes), and the 1 July 2025 conversion (``converter_2025.json``, keyed by
normalised names: old ``province_district_ward`` -> new ward). An old commune that went whole
into a new one gets that one as its successor; one divided among several gets them all, with
no shares (the package has none), so its figures are kept but marked not mappable. Districts
end on 30 June 2025 with no successor. Only the data files are read (SQLite and JSON): the
package's address parser, which needs geocoding, is not imported.

Units the GSO does not code (the district agencies) and the metrics, recipients and deadlines
stay the project's CSV files: an import keeps the agency rows whose parent it imports.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from commune_reports.catalog import CATALOG_DIR

REFORM_LAST_DAY = "2025-06-30"
REFORM_FIRST_DAY = "2025-07-01"
COLUMNS = (
    "code",
    "name",
    "unit_type",
    "level",
    "parent_code",
    "valid_from",
    "valid_to",
    "successor_code",
    "kind",
)
UNIT_TYPES = {
    "Tỉnh": "tinh",
    "Thành phố": "thanh_pho",
    "Quận": "quan",
    "Huyện": "huyen",
    "Thị xã": "thi_xa",
    "Phường": "phuong",
    "Thị trấn": "thi_tran",
    "Xã": "xa",
    "Đặc khu": "dac_khu",
}


class CatalogImportError(ValueError):
    """The selection names a province or district the package does not have."""


@dataclass(frozen=True)
class Source:
    """The package's data files."""

    dataset: Path
    converter: Path

    @classmethod
    def installed(cls) -> Source:
        spec = importlib.util.find_spec("vietnamadminunits")
        if spec is None or not spec.submodule_search_locations:
            raise CatalogImportError(
                "thiếu gói vietnamadminunits (make venv) / package vietnamadminunits is not "
                "installed (make venv)"
            )
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        return cls(data / "dataset.db", data / "converter_2025.json")


def _type(name: str) -> str:
    for prefix, slug in sorted(UNIT_TYPES.items(), key=lambda kv: -len(kv[0])):
        if name.startswith(prefix + " "):
            return slug
    return ""


def unit_rows(
    provinces: Sequence[str],
    districts: Sequence[str] = (),
    source: Source | None = None,
) -> list[dict[str, str]]:
    """units.csv rows (GSO units only) for the old provinces ``provinces`` (``["all"]`` for
    the whole country), optionally only the districts ``districts``, with the new provinces
    and communes they became."""
    source = source or Source.installed()
    db = sqlite3.connect(f"file:{source.dataset}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    legacy = db.execute(
        "SELECT provinceCode, province, provinceKey, districtCode, district, districtKey, "
        "wardCode, ward, wardKey FROM admin_units_legacy ORDER BY provinceCode, districtCode, "
        "wardCode"
    ).fetchall()
    new_units = db.execute(
        "SELECT provinceCode, province, provinceKey, wardCode, ward, wardKey FROM admin_units "
        "ORDER BY provinceCode, wardCode"
    ).fetchall()
    db.close()
    conversion = json.loads(source.converter.read_text(encoding="utf-8"))
    everything = list(provinces) == ["all"]
    chosen = [
        r
        for r in legacy
        if (everything or r["provinceCode"] in provinces)
        and (not districts or r["districtCode"] in districts)
    ]
    missing = (set(provinces) - {"all"} - {r["provinceCode"] for r in legacy}) | (
        set(districts) - {r["districtCode"] for r in chosen}
    )
    if missing or not chosen:
        raise CatalogImportError(
            f"không có đơn vị {' '.join(sorted(missing))} trong danh mục / no such unit in the "
            f"national lists: {' '.join(sorted(missing)) or '(none selected)'}"
        )
    new_by_key = {(r["provinceKey"], r["wardKey"]): r for r in new_units}
    new_province_of = {
        old: new for new, olds in conversion["DICT_PROVINCE"].items() for old in olds
    }
    province_code = {r["provinceKey"]: r["provinceCode"] for r in new_units}
    whole: dict[str, list[str]] = {}  # old key -> [new ward codes]
    for new_province, wards in conversion["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward, olds in wards.items():
            for old in olds:
                whole.setdefault(old, []).append(new_by_key[new_province, ward]["wardCode"])
    for new_province, olds in conversion["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, parts in olds.items():
            whole[old] = [new_by_key[new_province, p["newWardKey"]]["wardCode"] for p in parts]

    rows: list[dict[str, str]] = []
    seen_province: set[str] = set()
    seen_district: set[str] = set()
    reached: dict[str, str] = {}  # new province key -> code
    successors_wanted: set[str] = set()
    for r in chosen:
        if r["provinceCode"] not in seen_province:
            seen_province.add(r["provinceCode"])
            new_key = new_province_of[r["provinceKey"]]
            reached[new_key] = province_code[new_key]
            rows.append(
                _row(r["provinceCode"], r["province"], "province", "", "", province_code[new_key])
            )
        if r["districtCode"] not in seen_district:
            seen_district.add(r["districtCode"])
            rows.append(_row(r["districtCode"], r["district"], "district", r["provinceCode"]))
        if not r["wardCode"]:
            continue  # an island district without communes
        after = whole.get(f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}", [])
        successors_wanted.update(after)
        rows.append(
            _row(r["wardCode"], r["ward"], "commune", r["districtCode"], "", " ".join(after))
        )
    for new_key, code in sorted(reached.items(), key=lambda kv: kv[1]):
        wards = [r for r in new_units if r["provinceKey"] == new_key]
        rows.append(_row(code, wards[0]["province"], "province", "", REFORM_FIRST_DAY))
        for r in wards:
            if not districts or r["wardCode"] in successors_wanted:
                rows.append(_row(r["wardCode"], r["ward"], "commune", code, REFORM_FIRST_DAY))
    return rows


def _row(
    code: str, name: str, level: str, parent: str, valid_from: str = "", successor: str = ""
) -> dict[str, str]:
    return {
        "code": code,
        "name": name,
        "unit_type": _type(name),
        "level": level,
        "parent_code": parent,
        "valid_from": valid_from,
        "valid_to": "" if valid_from else REFORM_LAST_DAY,
        "successor_code": successor,
        "kind": level,
    }


def project_rows(gso_rows: Sequence[dict[str, str]], folder: Path = CATALOG_DIR) -> list[dict]:
    """The project-coded units (agencies) of ``folder``'s units.csv whose parent is imported."""
    parents = {r["code"] for r in gso_rows}
    with (folder / "units.csv").open(encoding="utf-8", newline="") as fh:
        return [
            r for r in csv.DictReader(fh) if r["kind"] == "agency" and r["parent_code"] in parents
        ]


def units_csv(rows: Sequence[dict[str, str]]) -> str:
    """The rows as units.csv text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({c: r.get(c, "") for c in COLUMNS} for r in rows)
    return out.getvalue()


def write_catalog(
    out: Path,
    provinces: Sequence[str],
    districts: Sequence[str] = (),
    base: Path = CATALOG_DIR,
) -> int:
    """Write a complete catalog folder ``out``: units.csv from the national lists plus the
    agencies of ``base``, and ``base``'s other files where ``out`` has none yet (an edited
    recipients.csv is kept). Returns the number of units."""
    gso = unit_rows(provinces, districts)
    rows = gso + project_rows(gso, base)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(base.glob("*.csv")):
        if path.name != "units.csv" and not (out / path.name).exists():
            (out / path.name).write_bytes(path.read_bytes())
    part = out / ".units.csv.part"
    part.write_text(units_csv(rows), encoding="utf-8")
    part.replace(out / "units.csv")
    return len(rows)
