"""The catalog (units, metrics, rates, reporting regimes, consistency checks) loaded from the
CSV files beside it.

Changing a metric, a unit or a deadline is an edit of ``catalog/*.csv``, not of code.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from pathlib import Path

CATALOG_DIR = Path(__file__).with_name("catalog")
FAR_PAST = dt.date(1900, 1, 1)
FAR_FUTURE = dt.date(9999, 12, 31)
# recipients.csv roles: "unit" (a unit's own alerts and notices) and "oversight" (roll-ups,
# escalations and corrections about the units under it); "district" is its older name.
ROLE_ALIASES = {"district": "oversight"}


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    unit_type: str
    level: str  # province | district | commune
    kind: str  # province | district | agency | commune
    parent_code: str
    valid_from: dt.date
    valid_to: dt.date
    successor_code: str

    @property
    def key(self) -> str:
        """Stable key of this version of the unit: GSO codes are reused for new areas."""
        return f"{self.code}@{self.valid_from.isoformat()}"

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class Metric:
    code: str
    label: str
    unit_of_measure: str
    regime: str
    required_units: tuple[str, ...]
    value_kind: str  # integer | decimal | flag | grade
    aggregation: str  # sum | value | min
    may_be_blank: bool

    def required_for(self, unit: Unit) -> bool:
        return unit.code in self.required_units or unit.kind in self.required_units


@dataclass(frozen=True)
class Rate:
    code: str
    label: str
    numerator: str
    denominator: str  # a metric code, or "expected:<metric>" = units expected to report it


CHECK_KINDS = ("swing", "outlier", "reconcile", "minimum")
SEVERITIES = ("warn", "block")


@dataclass(frozen=True)
class Check:
    """A consistency rule on a metric's figures: ``swing`` (moved by more than ``threshold``
    percent from the same period a year before), ``outlier`` (a unit's own figure with a
    modified z-score above ``threshold`` among its siblings), ``reconcile`` (differs by more
    than ``threshold`` percent from ``other_metric``'s figure of the same unit, period and
    level: a yearly form against its four quarters, the one-stop desk against the agencies)
    or ``minimum`` (a reporting unit's own value below ``threshold``, a legal minimum).
    ``warn``: published, flagged. ``block``: the file that breaks it is held, not loaded,
    until a corrected file replaces it or the district releases it; only a ``reconcile`` of
    one unit's own forms can block, since one file is then to blame."""

    code: str
    kind: str
    metric_code: str
    threshold: float
    severity: str
    other_metric: str = ""
    level: str = ""  # reconcile at this level; minimum for units of it ('' = every level)


@dataclass(frozen=True)
class Definition:
    """One version of what a metric counts, valid for the periods that end within
    [valid_from, valid_to]. A fact records the version it was reported under, so a new
    version changes the figures of the periods it covers from then on, never those loaded."""

    metric_code: str
    version: int
    valid_from: dt.date
    valid_to: dt.date
    definition_vi: str
    definition_en: str
    legal_basis: str


@dataclass(frozen=True)
class Regime:
    code: str
    label: str
    period_type: str  # quarter | year
    window_start_month_offset: int
    window_start_day: int
    window_end_month_offset: int
    window_end_day: int
    deadline_days: int
    deadline_day_kind: str  # working | calendar
    reminder_days_before: int = 3
    escalation_days_after: int = 5
    alerts_stop_days_after: int = 45  # no alerts about periods older than this


@dataclass(frozen=True)
class Catalog:
    units: tuple[Unit, ...]
    metrics: tuple[Metric, ...]
    rates: tuple[Rate, ...]
    regimes: dict[str, Regime]
    grades: dict[int, str]
    units_by_code: dict[str, tuple[Unit, ...]]
    recipients: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    checks: tuple[Check, ...] = ()
    definitions: tuple[Definition, ...] = ()

    def definition(self, metric_code: str, version: int) -> Definition | None:
        for d in self.definitions:
            if d.metric_code == metric_code and d.version == version:
                return d
        return None

    def emails(self, unit_code: str, role: str = "unit") -> tuple[str, ...]:
        """E-mail recipients of a unit's own alerts (role unit) or of roll-ups about the units
        under it (role oversight)."""
        return self.recipients.get((unit_code, role), ())

    def metric(self, code: str) -> Metric:
        return self.metrics_by_code[code]

    @property
    def metrics_by_code(self) -> dict[str, Metric]:
        return {m.code: m for m in self.metrics}

    def units_valid_on(self, day: dt.date) -> list[Unit]:
        return [u for u in self.units if u.valid_on(day)]

    def unit_on(self, code: str, day: dt.date) -> Unit | None:
        """The version of unit ``code`` that exists on ``day`` (None if none does)."""
        for unit in self.units_by_code.get(code, ()):
            if unit.valid_on(day):
                return unit
        return None

    def unit_codes(self) -> set[str]:
        return {u.code for u in self.units}

    def form_metrics(self, regime: str, unit: Unit) -> list[Metric]:
        """Metrics on the form of ``regime`` for ``unit``, in catalog order."""
        return [m for m in self.metrics if m.regime == regime and m.required_for(unit)]

    def regimes_of_unit(self, unit: Unit) -> list[str]:
        """Regimes whose form this unit sends, in catalog order."""
        return [r for r in self.regimes if self.form_metrics(r, unit)]

    def regime_for(self, unit: Unit, period_type: str) -> str | None:
        """The one regime a unit reports under for a period type (quarter or year)."""
        found = [
            r for r in self.regimes_of_unit(unit) if self.regimes[r].period_type == period_type
        ]
        return found[0] if len(found) == 1 else None


def _date(text: str, default: dt.date) -> dt.date:
    return dt.date.fromisoformat(text) if text else default


def _rows(name: str, folder: Path) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_catalog(folder: Path | None = None) -> Catalog:
    """The catalog of ``folder``, else ``COMMUNE_REPORTS_CATALOG_DIR``, else the packaged one."""
    chosen = folder or Path(os.environ.get("COMMUNE_REPORTS_CATALOG_DIR") or CATALOG_DIR)
    return _load(chosen.resolve())


@cache
def _load(folder: Path) -> Catalog:
    """Read the catalog CSV files once per process and folder."""
    units = tuple(
        Unit(
            code=r["code"],
            name=r["name"],
            unit_type=r["unit_type"],
            level=r["level"],
            kind=r["kind"],
            parent_code=r["parent_code"],
            valid_from=_date(r["valid_from"], FAR_PAST),
            valid_to=_date(r["valid_to"], FAR_FUTURE),
            successor_code=r["successor_code"],
        )
        for r in _rows("units.csv", folder)
    )
    metrics = tuple(
        Metric(
            code=r["code"],
            label=r["label"],
            unit_of_measure=r["unit_of_measure"],
            regime=r["regime"],
            required_units=tuple(r["required_units"].split()),
            value_kind=r["value_kind"],
            aggregation=r["aggregation"],
            may_be_blank=r["may_be_blank"] == "true",
        )
        for r in _rows("metrics.csv", folder)
    )
    rates = tuple(Rate(**r) for r in _rows("rates.csv", folder))
    regimes = {
        r["code"]: Regime(
            code=r["code"],
            label=r["label"],
            period_type=r["period_type"],
            window_start_month_offset=int(r["window_start_month_offset"]),
            window_start_day=int(r["window_start_day"]),
            window_end_month_offset=int(r["window_end_month_offset"]),
            window_end_day=int(r["window_end_day"]),
            deadline_days=int(r["deadline_days"]),
            deadline_day_kind=r["deadline_day_kind"],
            reminder_days_before=int(r["reminder_days_before"]),
            escalation_days_after=int(r["escalation_days_after"]),
            alerts_stop_days_after=int(r["alerts_stop_days_after"]),
        )
        for r in _rows("regimes.csv", folder)
    }
    grades = {int(r["code"]): r["abbreviation"] for r in _rows("grades.csv", folder)}
    recipients: dict[tuple[str, str], list[str]] = {}
    if (folder / "recipients.csv").exists():
        for r in _rows("recipients.csv", folder):
            role = ROLE_ALIASES.get(r["role"], r["role"])
            recipients.setdefault((r["unit_code"], role), []).append(r["email"])
    checks = _checks(folder, {m.code: m for m in metrics})
    definitions = _definitions(folder, {m.code for m in metrics})
    by_code: dict[str, list[Unit]] = {}
    for unit in units:
        by_code.setdefault(unit.code, []).append(unit)
    return Catalog(
        units=units,
        metrics=metrics,
        rates=rates,
        regimes=regimes,
        grades=grades,
        units_by_code={code: tuple(found) for code, found in by_code.items()},
        recipients={key: tuple(emails) for key, emails in recipients.items()},
        checks=checks,
        definitions=definitions,
    )


def _definitions(folder: Path, metrics: set[str]) -> tuple[Definition, ...]:
    """The versions of definitions.csv (the project's for a folder without one), checked:
    every metric has one, and a metric's versions never overlap."""
    source = folder if (folder / "definitions.csv").exists() else CATALOG_DIR
    found = tuple(
        Definition(
            metric_code=r["metric_code"],
            version=int(r["version"]),
            valid_from=_date(r["valid_from"], FAR_PAST),
            valid_to=_date(r["valid_to"], FAR_FUTURE),
            definition_vi=r["definition_vi"],
            definition_en=r["definition_en"],
            legal_basis=r["legal_basis"],
        )
        for r in _rows("definitions.csv", source)
    )
    for metric in sorted(metrics):
        mine = sorted((d for d in found if d.metric_code == metric), key=lambda d: d.valid_from)
        if not mine:
            raise ValueError(f"definitions.csv: no definition of metric {metric!r}")
        for a, b in pairwise(mine):
            if b.valid_from <= a.valid_to:
                raise ValueError(
                    f"definitions.csv: versions {a.version} and {b.version} of {metric!r} "
                    "overlap; a new version starts after the one before ends"
                )
    unknown = sorted({d.metric_code for d in found} - metrics)
    if unknown:
        raise ValueError(f"definitions.csv: no metric {unknown[0]!r} in metrics.csv")
    return found


def _checks(folder: Path, metrics: dict[str, Metric]) -> tuple[Check, ...]:
    """The rules of checks.csv; a catalog folder without one (made by an older
    ``catalog import``) takes the project's. A ``block`` rule must reconcile two metrics the
    same units report (one unit's own forms), so that one file is to blame."""
    source = folder if (folder / "checks.csv").exists() else CATALOG_DIR
    checks = []
    for r in _rows("checks.csv", source):
        check = Check(
            code=r["code"],
            kind=r["kind"],
            metric_code=r["metric_code"],
            threshold=float(r["threshold"]),
            severity=r["severity"],
            other_metric=r.get("other_metric") or "",
            level=r.get("level") or "",
        )
        where = f"checks.csv, rule {check.code}"
        if check.kind not in CHECK_KINDS:
            raise ValueError(f"{where}: kind {check.kind!r} is not one of {CHECK_KINDS}")
        if check.severity not in SEVERITIES:
            raise ValueError(f"{where}: severity {check.severity!r} is not one of {SEVERITIES}")
        if check.metric_code not in metrics:
            raise ValueError(f"{where}: no metric {check.metric_code!r} in metrics.csv")
        if (check.kind == "reconcile") != bool(check.other_metric):
            raise ValueError(f"{where}: other_metric is for a reconcile rule, and it needs one")
        if check.other_metric and check.other_metric not in metrics:
            raise ValueError(f"{where}: no metric {check.other_metric!r} in metrics.csv")
        if check.level not in ("", "all", "district", "commune"):
            raise ValueError(f"{where}: level {check.level!r} is not all, district or commune")
        if check.severity == "block" and (
            check.kind != "reconcile"
            or set(metrics[check.metric_code].required_units)
            != set(metrics[check.other_metric].required_units)
        ):
            raise ValueError(
                f"{where}: only a reconcile rule between two metrics the same units report "
                "can block (one unit's own forms); make it warn"
            )
        checks.append(check)
    return tuple(checks)
