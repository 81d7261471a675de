"""Units and metrics as people write their names, indexed by :func:`textnorm.key`.

The catalog's official names and labels, plus the spelling variants listed in
``catalog/aliases.csv`` (``kind,code,alias,note``; optional, so an older catalog folder still
loads). A name is looked up whole first ("Xã Mỹ An"), then without its type ("Mỹ An"); a name
that fits two units is returned with both, and the caller reports it: never a guess.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from commune_reports import form_layout as L
from commune_reports.catalog import CATALOG_DIR, Catalog, Metric, load_catalog
from commune_reports.textnorm import key, strip_prefix

_TYPE_KEYS = tuple(key(p) for p in L.UNIT_TYPE_PREFIXES)
_HEADING_KEYS = tuple(key(p) for p in L.HEADING_PREFIXES)


@dataclass(frozen=True)
class Names:
    catalog: Catalog
    unit_full: dict[str, frozenset[str]]  # "xã mỹ an" -> {"30064"}
    unit_core: dict[str, frozenset[str]]  # "mỹ an" -> {"30037", "30064"}
    metric_labels: dict[str, str]  # label key -> metric code
    metric_codes: dict[str, str]  # casefolded code -> code
    metrics: dict[str, Metric]  # code -> metric

    def units_named(self, text: str) -> frozenset[str]:
        """Codes of the units a heading such as "ỦY BAN NHÂN DÂN XÃ MỸ HOÀ" can name."""
        name = strip_prefix(key(text), _HEADING_KEYS)
        if not name:
            return frozenset()
        found = self.unit_full.get(name)
        if found is None:
            found = self.unit_core.get(strip_prefix(name, _TYPE_KEYS), frozenset())
        return found

    def valid_on(self, codes: frozenset[str], day: dt.date) -> frozenset[str]:
        """Those of ``codes`` that exist on ``day`` (all of them if none does)."""
        valid = frozenset(c for c in codes if self.catalog.unit_on(c, day) is not None)
        return valid or codes

    def metric_for_label(self, text: str) -> str | None:
        return self.metric_labels.get(key(text))


def _alias_rows(folder: Path) -> list[dict[str, str]]:
    path = folder / "aliases.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _label_keys(label: str) -> list[str]:
    """A label and the same without a trailing hint in parentheses ("(1 = có, 0 = không)")."""
    keys = [key(label)]
    if label.rstrip().endswith(")") and "(" in label:
        keys.append(key(label[: label.rindex("(")]))
    return keys


def load_names(folder: Path | None = None) -> Names:
    """The names of ``folder``, else ``COMMUNE_REPORTS_CATALOG_DIR``, else the packaged one."""
    return _named(str(folder or os.environ.get("COMMUNE_REPORTS_CATALOG_DIR") or CATALOG_DIR))


@cache
def _named(folder: str) -> Names:
    return _build(Path(folder).resolve())


@cache
def _build(folder: Path) -> Names:
    catalog = load_catalog(folder)
    full: dict[str, set[str]] = {}
    core: dict[str, set[str]] = {}

    def add_unit(name: str, code: str) -> None:
        name_key = key(name)
        full.setdefault(name_key, set()).add(code)
        bare = strip_prefix(name_key, _TYPE_KEYS)
        if bare != name_key:
            core.setdefault(bare, set()).add(code)

    for unit in catalog.units:
        add_unit(unit.name, unit.code)
    labels: dict[str, str] = {}
    for metric in catalog.metrics:
        for label_key in _label_keys(metric.label):
            labels.setdefault(label_key, metric.code)
    for row in _alias_rows(folder):
        if row["kind"] == "unit":
            add_unit(row["alias"], row["code"])
        elif row["kind"] == "metric":
            labels.setdefault(key(row["alias"]), row["code"])
    return Names(
        catalog=catalog,
        unit_full={k: frozenset(v) for k, v in full.items()},
        unit_core={k: frozenset(v) for k, v in core.items()},
        metric_labels=labels,
        metric_codes={m.code.casefold(): m.code for m in catalog.metrics},
        metrics=catalog.metrics_by_code,
    )
