"""Alerts in stages, sent once each: a reminder before the deadline to units that have not
reported, a roll-up to the district after the deadline naming every missing or rejected-only
unit, and an escalation some days later for those still missing.

What is due is computed from the completeness rows as of a date, so a unit that reports after
the reminder is not named again. Every delivery is recorded in ``alerts_sent`` only after it
succeeded: a rerun sends nothing twice and a failed delivery is retried by the next run.

Runs overlap, so one sender works at a time (:func:`~commune_reports.warehouse.exclusive`).
A period whose files another run is still processing waits for them (its alerts would
otherwise name units whose report is minutes from being loaded); if they are still unfinished
after ``WAIT_SECONDS``, the period's alerts are not sent and :class:`Postponed` is raised, so
the task is retried.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, bindparam, text

from commune_reports.catalog import Catalog, Regime, load_catalog
from commune_reports.channels import (
    Channel,
    DeliveryError,
    Message,
    raise_failures,
    recorded,
    targets,
)
from commune_reports.completeness import NOT_REPORTED, end_of_day, unit_rows
from commune_reports.hierarchy import overseer, oversight_emails
from commune_reports.periods import Period, cutoff_window, deadline, parse_period_range
from commune_reports.warehouse import exclusive, utc_seconds, writing

log = logging.getLogger(__name__)
STAGES = ("reminder", "deadline", "escalation")
ROLL_UP = "*"
WAIT_SECONDS = float(os.environ.get("COMMUNE_REPORTS_ALERTS_WAIT_SECONDS", "120"))


class Postponed(RuntimeError):
    """Files of a period are still being processed: its alerts wait for the next attempt."""


@dataclass
class Alert:
    stage: str
    regime: str
    period: Period
    deadline: dt.date
    unit_code: str  # ROLL_UP + the overseer's code for a roll-up (e.g. "*872")
    units: list[dict[str, Any]]
    recipients: list[str]
    message: Message = field(repr=False)


def due_stages(regime: Regime, period: Period, day: dt.date) -> list[str]:
    """Stages of ``period`` due on ``day`` (local date), before the alerts stop."""
    due = deadline(period, regime)
    if day > due + dt.timedelta(days=regime.alerts_stop_days_after):
        return []
    stages = []
    if due - dt.timedelta(days=regime.reminder_days_before) <= day <= due:
        stages.append("reminder")
    if day > due:
        stages.append("deadline")
    if day >= due + dt.timedelta(days=regime.escalation_days_after):
        stages.append("escalation")
    return stages


def alerts_stopped(period: Period, day: dt.date, catalog: Catalog) -> bool:
    """Have the alerts of ``period`` stopped by ``day`` in every regime of its type?"""
    return all(
        day > deadline(period, r) + dt.timedelta(days=r.alerts_stop_days_after)
        for r in catalog.regimes.values()
        if r.period_type == period.period_type
    )


def _periods_around(day: dt.date, regime: Regime) -> list[Period]:
    """The regime's periods near ``day``, wide enough for any window the catalog sets."""
    span = (
        f"{day.year - 1}Q1..{day.year + 1}Q4"
        if regime.period_type == "quarter"
        else f"{day.year - 2}..{day.year + 1}"
    )
    return parse_period_range(span)


def delivery_periods(day: dt.date, catalog: Catalog) -> list[Period]:
    """Periods whose files may arrive on ``day``: from the start of their cut-off window to the
    end of their alerts (the light discovery watches these inbox folders)."""
    found = set()
    for regime in catalog.regimes.values():
        for p in _periods_around(day, regime):
            start = cutoff_window(p, regime)[0]
            stop = deadline(p, regime) + dt.timedelta(days=regime.alerts_stop_days_after)
            if start <= day <= stop:
                found.add(p)
    return sorted(found)


def open_periods(day: dt.date, catalog: Catalog) -> list[Period]:
    """Periods with a reminder, roll-up or escalation window around ``day`` (daily DAG)."""
    found = set()
    for regime in catalog.regimes.values():
        found |= {p for p in _periods_around(day, regime) if due_stages(regime, p, day)}
    return sorted(found)


def _vn_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _unit_line_vi(u: dict[str, Any]) -> str:
    if u["status"] == "missing":
        return f"{u['unit_code']} {u['unit_name']}: chưa gửi báo cáo"
    found = "; ".join(f"[{p['sheet']}!{p['cell']}] {p['message_vi']}" for p in u["problems"][:5])
    return f"{u['unit_code']} {u['unit_name']}: biểu đã gửi bị từ chối — {found}"


def _unit_line_en(u: dict[str, Any]) -> str:
    if u["status"] == "missing":
        return f"{u['unit_code']} {u['unit_name']}: no report received"
    found = "; ".join(
        f"[{p['sheet']}!{p['cell']}] {p['message_en']} ({p['rule']})" for p in u["problems"][:5]
    )
    return f"{u['unit_code']} {u['unit_name']}: the form sent was rejected — {found}"


_INTRO = {
    "reminder": (
        "Nhắc nhở: hạn gửi {label} kỳ {period} là ngày {due_vi}. Các đơn vị sau chưa có báo "
        "cáo hợp lệ:",
        "Reminder: the {regime} report for {period} is due on {due}. No valid report yet from:",
    ),
    "deadline": (
        "Đã hết hạn gửi {label} kỳ {period} (ngày {due_vi}). Các đơn vị chưa có báo cáo hợp lệ:",
        "The {regime} report for {period} was due on {due}. Units without a valid report:",
    ),
    "escalation": (
        "Quá hạn {days} ngày: {label} kỳ {period} (hạn {due_vi}) vẫn chưa có báo cáo hợp lệ của:",
        "{days} days overdue: the {regime} report for {period} (due {due}) is still missing from:",
    ),
}
_SUBJECT = {
    "reminder": ("Nhắc hạn", "Reminder"),
    "deadline": ("Tổng hợp sau hạn", "Deadline roll-up"),
    "escalation": ("Quá hạn", "Overdue"),
}


def compose(
    stage: str,
    regime: Regime,
    period: Period,
    due: dt.date,
    day: dt.date,
    units: list[dict[str, Any]],
) -> Message:
    """The message of one alert: Vietnamese first, English below; plain text and HTML."""
    fields = {
        "label": regime.label.lower(),
        "regime": regime.code,
        "period": period.code,
        "due": due.isoformat(),
        "due_vi": _vn_date(due),
        "days": (day - due).days,
    }
    intro_vi, intro_en = (t.format(**fields) for t in _INTRO[stage])
    lines_vi = [_unit_line_vi(u) for u in units]
    lines_en = [_unit_line_en(u) for u in units]
    vi_subject, en_subject = _SUBJECT[stage]
    subject = f"[{vi_subject} / {en_subject}] {regime.label} {period.code} — {len(units)} đơn vị"
    text_body = "\n".join(
        [
            intro_vi,
            *(f"- {x}" for x in lines_vi),
            "",
            "Đề nghị đơn vị gửi hoặc gửi lại biểu đúng mẫu qua hộp thư tiếp nhận.",
            "",
            "---",
            intro_en,
            *(f"- {x}" for x in lines_en),
            "",
            "Please send or resend the form through the usual inbox.",
            "",
        ]
    )

    def block(intro: str, lines: list[str]) -> str:
        items = "".join(f"<li>{html.escape(x)}</li>" for x in lines)
        return f"<p>{html.escape(intro)}</p><ul>{items}</ul>"

    html_body = (
        "<html><body>"
        + block(intro_vi, lines_vi)
        + '<hr><div lang="en">'
        + block(intro_en, lines_en)
        + "</div></body></html>"
    )
    payload = {
        "stage": stage,
        "regime": regime.code,
        "period": period.code,
        "deadline": due.isoformat(),
        "units": [
            {
                "code": u["unit_code"],
                "name": u["unit_name"],
                "status": u["status"],
                "problems": u["problems"],
            }
            for u in units
        ],
    }
    return Message(subject=subject, text=text_body, html=html_body, payload=payload)


def plan(
    engine: Engine,
    periods: Sequence[Period],
    day: dt.date,
    stages: Sequence[str] = STAGES,
    catalog: Catalog | None = None,
) -> list[Alert]:
    """The alerts due on ``day`` for ``periods`` (not yet filtered by what was already sent)."""
    catalog = catalog or load_catalog()
    rows = unit_rows(engine, periods, end_of_day(day), catalog)
    alerts: list[Alert] = []
    for period in periods:
        for regime in catalog.regimes.values():
            if regime.period_type != period.period_type:
                continue
            due = deadline(period, regime)
            late = [
                r
                for r in rows
                if r["regime"] == regime.code
                and r["period_code"] == period.code
                and r["status"] in NOT_REPORTED
            ]
            for stage in due_stages(regime, period, day):
                if stage not in stages or not late:
                    continue
                if stage == "deadline":  # one roll-up per overseer, naming all its late units
                    by_overseer: dict[str, list[dict[str, Any]]] = {}
                    for u in late:
                        above = overseer(catalog, u["unit_code"], period.end) or ""
                        by_overseer.setdefault(above, []).append(u)
                    groups = [
                        (ROLL_UP + code, units, list(catalog.emails(code, "oversight")))
                        for code, units in sorted(by_overseer.items())
                    ]
                else:
                    groups = []
                    for u in late:
                        recipients = list(catalog.emails(u["unit_code"]))
                        if stage == "escalation":
                            above = oversight_emails(catalog, u["unit_code"], period.end)
                            recipients += [e for e in above if e not in recipients]
                        groups.append((u["unit_code"], [u], recipients))
                for key, units, recipients in groups:
                    alerts.append(
                        Alert(
                            stage,
                            regime.code,
                            period,
                            due,
                            key,
                            units,
                            recipients,
                            compose(stage, regime, period, due, day, units),
                        )
                    )
    return alerts


def in_flight(engine: Engine, periods: Sequence[Period]) -> dict[str, int]:
    """Periods with files received but not yet accepted or rejected (a run is processing them,
    or one stopped and the next run of the period will resume them): code -> file count."""
    codes = [p.code for p in periods]
    if not codes:
        return {}
    stmt = text(
        "SELECT COALESCE(period_code, inbox_period) AS code, COUNT(*) AS n FROM submissions "
        "WHERE status IN ('received', 'parsed', 'validated') "
        "AND COALESCE(period_code, inbox_period) IN :codes "
        "GROUP BY COALESCE(period_code, inbox_period)"
    ).bindparams(bindparam("codes", expanding=True))
    with engine.connect() as conn:
        return {r.code: r.n for r in conn.execute(stmt, {"codes": codes})}


def _settled(engine: Engine, periods: Sequence[Period], wait: float) -> dict[str, int]:
    """Wait up to ``wait`` seconds for the periods' files in flight; those still busy."""
    deadline_at = time.monotonic() + wait
    while (busy := in_flight(engine, periods)) and time.monotonic() < deadline_at:
        log.info("waiting for files still being processed: %s", busy)
        time.sleep(min(5.0, max(0.1, deadline_at - time.monotonic())))
    return busy


def _sent(engine: Engine, alert: Alert) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {
            recorded(r.channel, r.recipient)
            for r in conn.execute(
                text(
                    "SELECT channel, recipient FROM alerts_sent WHERE regime = :r AND "
                    "period_code = :p AND stage = :s AND unit_code IN (:u, :old)"
                ),
                {
                    "r": alert.regime,
                    "p": alert.period.code,
                    "s": alert.stage,
                    "u": alert.unit_code,
                    # a roll-up recorded before roll-ups were per overseer was keyed "*" alone
                    "old": ROLL_UP if alert.unit_code.startswith(ROLL_UP) else alert.unit_code,
                },
            )
        }


def deliver(
    engine: Engine, alerts: Sequence[Alert], channels: Sequence[Channel], now: dt.datetime
) -> list[dict[str, Any]]:
    """Send each alert on each channel unless already recorded; record each success at once.
    Every failure is attempted, then raised together, so the task fails and is retried."""
    delivered, failures = [], []
    for alert in alerts:
        done = _sent(engine, alert)
        for channel in channels:
            to = targets(channel, alert.recipients)
            if channel.name == "email" and not to:
                log.warning("no e-mail recipient for %s %s", alert.unit_code, alert.stage)
            for recipient in to:
                if (channel.name, recipient) in done:
                    continue
                try:
                    channel.send(recipient, alert.message)
                except DeliveryError as exc:
                    failures.append(str(exc))
                    continue
                with writing(engine) as conn:
                    conn.execute(
                        text(
                            "INSERT INTO alerts_sent (regime, period_code, stage, unit_code, "
                            "channel, recipient, units_named, sent_at) VALUES (:r, :p, :s, :u, "
                            ":c, :to, :units, :at)"
                        ),
                        {
                            "r": alert.regime,
                            "p": alert.period.code,
                            "s": alert.stage,
                            "u": alert.unit_code,
                            "c": channel.name,
                            "to": recipient,
                            "units": " ".join(u["unit_code"] for u in alert.units),
                            "at": utc_seconds(now),
                        },
                    )
                delivered.append(
                    {
                        "stage": alert.stage,
                        "regime": alert.regime,
                        "period": alert.period.code,
                        "unit": alert.unit_code,
                        "channel": channel.name,
                        "recipient": recipient,
                        "units": [u["unit_code"] for u in alert.units],
                    }
                )
    raise_failures(failures, "alert deliveries")
    return delivered


def send_due(
    engine: Engine,
    periods: Sequence[Period],
    day: dt.date,
    channels: Sequence[Channel],
    now: dt.datetime,
    stages: Sequence[str] = STAGES,
) -> list[dict[str, Any]]:
    """Plan and deliver what is due on ``day`` (the command line and the DAG tasks). Periods
    whose files are still being processed are waited for, then left out and named in
    :class:`Postponed` (after the others were sent)."""
    if not periods:
        return []
    busy = _settled(engine, periods, WAIT_SECONDS)
    ready = [p for p in periods if p.code not in busy]
    with exclusive(engine, "alerts"):
        due = plan(engine, ready, day, stages)
        if not channels:
            if due:
                log.warning(
                    "%d alerts due but no channel configured (COMMUNE_REPORTS_SMTP_HOST or "
                    "COMMUNE_REPORTS_WEBHOOK_URL, or the Airflow connections): nothing sent",
                    len(due),
                )
            sent: list[dict[str, Any]] = []
        else:
            sent = deliver(engine, due, channels, now)
    if busy:
        files = ", ".join(f"{code}: {n}" for code, n in sorted(busy.items()))
        raise Postponed(
            f"alerts not sent yet for periods whose files are still being processed ({files}); "
            "they are sent on the next attempt, once those files are loaded or rejected"
        )
    return sent
