"""Validate a whole batch of parsed forms with Great Expectations in one run per frame.

Great Expectations has a large fixed cost per context and per run, so the batch is validated
at once and each failure is mapped back to its file, sheet and cell through ``row_id``
(``unexpected_index_column_names``). GX is imported inside :func:`run_suites`, never at import.

Each run's whole result (one per frame) can be kept as JSON (:func:`keep_result`) for the
Data Docs that :mod:`commune_reports.publish.datadocs` builds from them: what the officials
open to see which expectation a file broke.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from commune_reports.catalog import Catalog
from commune_reports.periods import parse_period
from commune_reports.problems import Problem

log = logging.getLogger(__name__)
MISSING_ROW = "(không có dòng / no row)"


@dataclass(frozen=True)
class Rule:
    """One business rule: the expectation that checks it and its message in VI and EN."""

    code: str
    frame: str  # long | wide
    message_vi: str
    message_en: str
    once_per_file: bool = False


RULES = {
    r.code: r
    for r in (
        Rule(
            "required_metric",
            "long",
            "chỉ tiêu bắt buộc {metric} chưa có kết quả: nhập số liệu vào ô này",
            "required metric {metric} has no value: enter a figure in this cell",
        ),
        Rule(
            "non_negative",
            "long",
            "chỉ tiêu {metric} có giá trị âm {found}: số liệu phải không âm",
            "metric {metric} is negative ({found}): figures must be zero or more",
        ),
        Rule(
            "integer",
            "long",
            "chỉ tiêu {metric} phải là số nguyên, không phải {found}",
            "metric {metric} must be a whole number, not {found}",
        ),
        Rule(
            "flag",
            "long",
            "chỉ tiêu {metric} chỉ nhận 1 (có) hoặc 0 (không), không phải {found}",
            "metric {metric} takes 1 (yes) or 0 (no), not {found}",
        ),
        Rule(
            "grade",
            "long",
            "xếp loại {metric} chỉ nhận 1, 2, 3 hoặc 4, không phải {found}",
            "grade {metric} takes 1, 2, 3 or 4, not {found}",
        ),
        Rule(
            "unit_valid_in_period",
            "long",
            "mã đơn vị {unit} không có trong danh mục, không tồn tại trong kỳ {period} hoặc "
            "không gửi biểu của kỳ này",
            "unit code {unit} is not in the catalog, does not exist in period {period} or "
            "sends no form for such a period",
            once_per_file=True,
        ),
        Rule(
            "period_matches_run",
            "long",
            "biểu của kỳ {period} được gửi vào đợt tổng hợp kỳ {run}: gửi lại đúng kỳ",
            "form of period {period} delivered to the run of {run}: send it for the right period",
            once_per_file=True,
        ),
        Rule(
            "metric_on_form",
            "long",
            "mã chỉ tiêu {metric} không thuộc biểu của đơn vị này: xóa dòng hoặc sửa mã",
            "metric code {metric} is not on this unit's form: delete the row or fix the code",
        ),
        Rule(
            "one_value_per_metric",
            "long",
            "chỉ tiêu {metric} xuất hiện nhiều lần trong biểu: chỉ giữ một dòng",
            "metric {metric} appears more than once in the form: keep one row",
        ),
        Rule(
            "online_le_total",
            "wide",
            "số hồ sơ trực tuyến ({online}) lớn hơn tổng số hồ sơ tiếp nhận ({total})",
            "online dossiers ({online}) exceed all dossiers received ({total})",
        ),
        Rule(
            "on_time_le_resolved",
            "wide",
            "số hồ sơ đúng và trước hạn ({on_time}) lớn hơn số hồ sơ đã giải quyết ({resolved})",
            "dossiers on time ({on_time}) exceed dossiers resolved ({resolved})",
        ),
        Rule(
            "complaints_resolved_le_received",
            "wide",
            "số đơn đã giải quyết ({resolved}) lớn hơn số đơn tiếp nhận ({received})",
            "complaints resolved ({resolved}) exceed complaints received ({received})",
        ),
    )
}

# (rule, column A that must be >= column B): the checked cell is B's.
PAIR_RULES = (
    ("online_le_total", "dossiers_received_total", "dossiers_received_online"),
    ("on_time_le_resolved", "dossiers_resolved_total", "dossiers_resolved_on_time"),
    ("complaints_resolved_le_received", "complaints_received", "complaints_resolved"),
)


def canonical_text(value: Any) -> str | None:
    """1000.0 -> "1000", 95.50 -> "95.5": the text the integer and set rules look at."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    from decimal import Decimal

    text = f"{Decimal(str(value)).normalize():f}"
    return text


def build_frames(
    submissions: list[dict[str, Any]],
    values: list[dict[str, Any]],
    catalog: Catalog,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long frame (one row per value cell, plus rows for required metrics with no row)
    and the wide frame (one row per submission) that the suites run on."""
    metrics = catalog.metrics_by_code
    units = {u.key: u for u in catalog.units}
    by_sub: dict[str, list[dict[str, Any]]] = {}
    for v in values:
        by_sub.setdefault(v["submission_id"], []).append(v)
    long_rows: list[dict[str, Any]] = []
    wide_rows: list[dict[str, Any]] = []
    for sub in submissions:
        sid = sub["submission_id"]
        unit = units.get(sub["unit_key"] or "")
        form_id, codes = form_of(sub, catalog)
        form = set(codes)
        sub = {**sub, "form_id": form_id}
        seen = set()
        wide: dict[str, Any] = {
            "row_id": len(wide_rows),
            "submission_id": sid,
            "sheet": sub["sheet"],
        }
        for v in by_sub.get(sid, []):
            metric = metrics.get(v["metric_code"])
            seen.add(v["metric_code"])
            long_rows.append(_long_row(sub, v, metric, unit))
            if v["metric_code"] not in wide:
                wide[v["metric_code"]] = _float(v["value"])
                wide[v["metric_code"] + "__cell"] = v["cell"]
        for code in sorted(form - seen):
            long_rows.append(
                _long_row(
                    sub,
                    {
                        "metric_code": code,
                        "cell": MISSING_ROW,
                        "value": None,
                        "sheet": sub["sheet"],
                    },
                    metrics[code],
                    unit,
                )
            )
        wide_rows.append(wide)
    long = pd.DataFrame(long_rows)
    if not long.empty:
        long["row_id"] = range(len(long))
    wide = pd.DataFrame(wide_rows)
    for _, col_a, col_b in PAIR_RULES:
        for col in (col_a, col_b):
            if col not in wide.columns:
                wide[col] = float("nan")
    return long, wide


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _long_row(sub: dict[str, Any], v: dict[str, Any], metric: Any, unit: Any) -> dict[str, Any]:
    value = v["value"]
    return {
        "submission_id": sub["submission_id"],
        "sheet": v.get("sheet") or sub["sheet"],
        "cell": v["cell"],
        "unit_code": sub["unit_code"],
        "period_code": sub["period_code"],
        "form_id": sub["form_id"],
        "metric_code": v["metric_code"],
        "value": _float(value),
        "value_text": canonical_text(value),
        "value_kind": metric.value_kind if metric else "unknown",
        "blank_allowed": int(metric.may_be_blank) if metric else 1,
        # a file from a period's inbox folder must be of the run's periods; one given to
        # `ingest` (or left by it and finished by a run) may be of any period
        "period_checked": 1 if sub.get("inbox_period") else 0,
    }


def form_of(sub: dict[str, Any], catalog: Catalog) -> tuple[str | None, tuple[str, ...]]:
    """The form a submission must be: an id shared by every unit with the same metrics, and
    those metrics; (None, ()) when the unit is unknown, not in existence in the period, or
    sends no form for that kind of period."""
    if not (sub["unit_code"] and sub["period_code"]):
        return None, ()
    try:
        period = parse_period(sub["period_code"])
    except ValueError:
        return None, ()
    unit = catalog.unit_on(sub["unit_code"], period.end)
    regime = catalog.regime_for(unit, period.period_type) if unit else None
    if unit is None or regime is None:
        return None, ()
    codes = tuple(m.code for m in catalog.form_metrics(regime, unit))
    return f"{regime}:{'+'.join(codes)}", codes


def form_sets(submissions: Iterable[dict[str, Any]], catalog: Catalog) -> dict[str, list[str]]:
    """Metrics allowed on each distinct form of the batch: a handful of small sets, however
    many units report (the set size, not the row count, is what costs in GX)."""
    out: dict[str, list[str]] = {}
    for sub in submissions:
        form_id, codes = form_of(sub, catalog)
        if form_id:
            out[form_id] = list(codes)
    return out


def run_suites(
    long: pd.DataFrame,
    wide: pd.DataFrame,
    forms: dict[str, list[str]],
    run_periods: list[str] | None,
    keep: Path | None = None,
    meta: dict[str, Any] | None = None,
) -> list[tuple[str, str, list[int]]]:
    """Run both suites once; return (frame, rule, failing row ids) for each failed rule.

    With ``keep``, each frame's whole result is also written into that folder
    (:func:`keep_result`), with ``meta`` (batch, chunk, run periods, the files covered), so
    that a person can later see what was checked and what failed; both frames of the call
    share one run time."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.row_conditions import Column

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("batch")
    long_suite = gx.ExpectationSuite(
        name="long",
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(
                column="value",
                row_condition=Column("blank_allowed") == 0,
                meta={"rule": "required_metric"},
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="value", min_value=0, meta={"rule": "non_negative"}
            ),
            gxe.ExpectColumnValuesToMatchRegex(
                column="value_text",
                regex=r"^\d+$",
                row_condition=Column("value_kind") == "integer",
                meta={"rule": "integer"},
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="value_text",
                value_set=["0", "1"],
                row_condition=Column("value_kind") == "flag",
                meta={"rule": "flag"},
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="value_text",
                value_set=["1", "2", "3", "4"],
                row_condition=Column("value_kind") == "grade",
                meta={"rule": "grade"},
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="form_id", meta={"rule": "unit_valid_in_period"}
            ),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["submission_id", "metric_code"],
                meta={"rule": "one_value_per_metric"},
            ),
        ]
        + [
            gxe.ExpectColumnValuesToBeInSet(
                column="metric_code",
                value_set=codes,
                row_condition=Column("form_id") == form_id,
                meta={"rule": "metric_on_form"},
            )
            for form_id, codes in sorted(forms.items())
        ]
        + (
            [
                gxe.ExpectColumnValuesToBeInSet(
                    column="period_code",
                    value_set=run_periods,
                    row_condition=Column("period_checked") == 1,
                    meta={"rule": "period_matches_run"},
                )
            ]
            if run_periods
            else []
        ),
    )
    wide_suite = gx.ExpectationSuite(
        name="wide",
        expectations=[
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=col_a,
                column_B=col_b,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta={"rule": rule},
            )
            for rule, col_a, col_b in PAIR_RULES
        ],
    )
    failures: list[tuple[str, str, list[int]]] = []
    meta = dict(meta or {})
    run_id = RunIdentifier(run_name=meta.get("batch_id"), run_time=dt.datetime.now(dt.UTC))
    for frame_name, frame, suite in (("long", long, long_suite), ("wide", wide, wide_suite)):
        if frame.empty:
            continue
        asset = source.add_dataframe_asset(frame_name)
        batch_def = asset.add_batch_definition_whole_dataframe(frame_name)
        definition = gx.ValidationDefinition(
            name=frame_name, data=batch_def, suite=context.suites.add(suite)
        )
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": ["row_id"],
            },
            run_id=run_id,
        )
        if keep is not None:
            # before the failures are read: a rule that failed to run is kept too, with why
            keep_result(keep, result, frame_name, frame, {**meta, "run_periods": run_periods})
        for item in result.results:
            if item.success:
                continue
            rule = item.expectation_config.meta["rule"]
            if item.exception_info and item.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"expectation for rule {rule} failed to run: {item.exception_info}"
                )
            ids = [int(x["row_id"]) for x in item.result.get("unexpected_index_list") or []]
            failures.append((frame_name, rule, ids))
    return failures


def result_name(meta: dict[str, Any], frame_name: str, run_time: dt.datetime) -> str:
    """``<run time>__<batch>__chunk-<k>-of-<n>__<frame>__<token>.json``: sorted by time in a
    listing, and never the name of another chunk's, frame's or run's result (the random token
    parts two runs of the same batch and chunk in the same microsecond)."""
    stamp = run_time.astimezone(dt.UTC).strftime(RUN_TIME_FORMAT)
    chunk = f"chunk-{meta.get('chunk_number', 0)}-of-{meta.get('chunk_count', 1)}"
    batch = safe_name(str(meta.get("batch_id") or "unnamed"))
    return f"{stamp}__{batch}__{chunk}__{frame_name}__{uuid.uuid4().hex[:8]}.json"


RUN_TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"  # as Great Expectations writes run times in its keys


def safe_name(text: str) -> str:
    """A batch id as a file name on any system: Airflow's run ids carry ``:`` and ``+``, which
    Windows shares refuse, and a manual run id may carry ``/``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "unnamed"


def keep_result(
    folder: Path, result: Any, frame_name: str, frame: pd.DataFrame, meta: dict[str, Any]
) -> Path:
    """Write one frame's validation result (an ``ExpectationSuiteValidationResult``, complete
    with its unexpected index lists) as JSON into ``folder``; return its path.

    ``meta`` (batch, chunk, run periods, the submissions and files covered) and the file,
    sheet and cell of every failing row go into the result's meta under ``commune_reports``:
    a row id alone tells a person nothing. Written beside, then renamed, so a reader never
    sees half a file; the name is the result's own (:func:`result_name`)."""
    started = time.perf_counter()
    files = {s["submission_id"]: s.get("file") for s in meta.get("submissions") or []}
    result.meta["commune_reports"] = {
        **meta,
        "frame": frame_name,
        "failed_rows": failed_rows(result, frame, files),
    }
    data = json.dumps(result.to_json_dict(), ensure_ascii=False, separators=(",", ":"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / result_name(meta, frame_name, result.meta["run_id"].run_time)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_text(data, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info(
        "validation result kept: %s (%d bytes, %.1f ms)",
        path,
        len(data.encode("utf-8")),
        (time.perf_counter() - started) * 1000,
    )
    return path


def failed_rows(
    result: Any, frame: pd.DataFrame, files: dict[str, str | None]
) -> dict[str, dict[str, Any]]:
    """Row id -> submission, file, sheet and cell(s) of each row a failed expectation names
    (for a wide row, the cell of each compared column that failed)."""
    out: dict[str, dict[str, Any]] = {}
    for item in result.results:
        if item.success:
            continue
        column_b = item.expectation_config.kwargs.get("column_B")
        for entry in item.result.get("unexpected_index_list") or []:
            row_id = int(entry["row_id"])
            row = frame.iloc[row_id]
            sid = str(row["submission_id"])
            info = out.setdefault(
                str(row_id),
                {"submission_id": sid, "file": files.get(sid), "sheet": _plain(row["sheet"])},
            )
            if "cell" in frame.columns:
                info["cell"] = _plain(row["cell"])
            elif column_b:
                info.setdefault("cells", {})[column_b] = _plain(row.get(f"{column_b}__cell"))
    return out


def _plain(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def problems_from_failures(
    failures: list[tuple[str, str, list[int]]],
    long: pd.DataFrame,
    wide: pd.DataFrame,
    run_periods: list[str] | None,
) -> dict[str, list[Problem]]:
    """Turn failing row ids into problems per submission, each naming sheet and cell."""
    out: dict[str, list[Problem]] = {}
    once: set[tuple[str, str]] = set()
    run = ", ".join(run_periods or [])
    for frame_name, rule_code, ids in failures:
        rule = RULES[rule_code]
        for row_id in ids:
            if frame_name == "long":
                row = long.iloc[row_id]
                sid = row["submission_id"]
                if rule.once_per_file:
                    if (sid, rule_code) in once:
                        continue
                    once.add((sid, rule_code))
                fields = {
                    "metric": row["metric_code"],
                    "found": row["value_text"],
                    "unit": row["unit_code"],
                    "period": row["period_code"],
                    "run": run,
                }
                cell = "A4" if rule.once_per_file else row["cell"]
                problem = Problem(
                    stage="validate",
                    rule=rule_code,
                    message_vi=rule.message_vi.format(**fields),
                    message_en=rule.message_en.format(**fields),
                    sheet=row["sheet"],
                    cell=cell,
                    metric_code=None if rule.once_per_file else row["metric_code"],
                    found=row["value_text"] if not rule.once_per_file else row["unit_code"],
                )
            else:
                row = wide.iloc[row_id]
                sid = row["submission_id"]
                _, col_a, col_b = next(p for p in PAIR_RULES if p[0] == rule_code)
                a, b = canonical_text(row[col_a]), canonical_text(row[col_b])
                fields = {
                    "online": b,
                    "total": a,
                    "on_time": b,
                    "resolved": a if rule_code == "on_time_le_resolved" else b,
                    "received": a,
                }
                problem = Problem(
                    stage="validate",
                    rule=rule_code,
                    message_vi=rule.message_vi.format(**fields),
                    message_en=rule.message_en.format(**fields),
                    sheet=row["sheet"],
                    cell=row.get(col_b + "__cell"),
                    metric_code=col_b,
                    found=b,
                )
            out.setdefault(sid, []).append(problem)
    return out


def with_parse_problems(
    read: dict[str, list[Problem]], checked: dict[str, list[Problem]]
) -> dict[str, list[Problem]]:
    """All of each file's problems in one list: those found while reading, then the rules'
    findings, without the ones a reading problem causes (a required metric "missing" because
    its cell could not be read, or a comparison with a cell that could not be read)."""
    out = {sid: list(items) for sid, items in checked.items()}
    pairs = {rule: (a, b) for rule, a, b in PAIR_RULES}
    for sid, found in read.items():
        cells = {(p.sheet, p.cell) for p in found if p.cell}
        metrics = {p.metric_code for p in found if p.metric_code}
        out[sid] = list(found) + [
            p
            for p in checked.get(sid, [])
            if (p.sheet, p.cell) not in cells
            and not ({*pairs.get(p.rule, ()), p.metric_code} & metrics)
        ]
    return out
