"""Airflow wiring shared by the DAG files: the task graph and the failure notifier.

Imported only by ``dags/``; the rest of the package never imports Airflow. Nothing heavy is
imported here: pandas, Great Expectations and the drivers load inside the tasks.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
from email.message import EmailMessage
from typing import Any

import pendulum
from airflow.sdk import BaseNotifier, Param, dag, get_current_context, task

from commune_reports.periods import TIMEZONE

log = logging.getLogger(__name__)
WAREHOUSE_CONN_ID = "commune_reports_warehouse"


class FailureNotifier(BaseNotifier):
    """Tell the district's data team that a task failed: always in the log, and by e-mail when
    ``COMMUNE_REPORTS_SMTP_HOST`` and ``COMMUNE_REPORTS_ALERT_TO`` are set."""

    template_fields = ()

    def notify(self, context: Any) -> None:
        ti = context.get("task_instance") or context.get("ti")
        dag_id = getattr(ti, "dag_id", "?")
        task_id = getattr(ti, "task_id", "?")
        run_id = getattr(ti, "run_id", "?")
        error = context.get("exception")
        subject = f"[commune-reports] Lỗi / Failure: {dag_id}.{task_id} ({run_id})"
        body = (
            f"Tác vụ {task_id} của {dag_id}, lượt chạy {run_id}, bị lỗi: {error}\n"
            f"Task {task_id} of {dag_id}, run {run_id}, failed: {error}\n"
        )
        log.error("%s\n%s", subject, body)
        host, to = (
            os.environ.get("COMMUNE_REPORTS_SMTP_HOST"),
            os.environ.get("COMMUNE_REPORTS_ALERT_TO"),
        )
        if not (host and to):
            return
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = os.environ.get("COMMUNE_REPORTS_SMTP_FROM", "commune-reports@localhost")
        message["To"] = to
        message.set_content(body)
        port = int(os.environ.get("COMMUNE_REPORTS_SMTP_PORT", "25"))
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            smtp.send_message(message)


def _connection(env_name: str, default_id: str) -> Any | None:
    """An Airflow connection by id (overridable by an env var), or None if it does not exist."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(os.environ.get(env_name, default_id))
    except Exception as exc:  # not found: the SDK raises AirflowNotFoundException
        if type(exc).__name__ != "AirflowNotFoundException":
            raise
        return None


def warehouse_url() -> str | None:
    """The warehouse from the Airflow connection ``commune_reports_warehouse`` if it exists;
    None lets the package fall back to COMMUNE_REPORTS_WAREHOUSE_URL or embedded SQLite."""
    conn = _connection("COMMUNE_REPORTS_WAREHOUSE_CONN_ID", WAREHOUSE_CONN_ID)
    if conn is None:
        return None
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", conn.get_uri())


def alert_channels() -> list[Any]:
    """Alert channels from the connections ``commune_reports_smtp`` (host, port, login,
    password; extra ``from``, ``starttls``) and ``commune_reports_webhook`` (extra ``url``, or
    the host as a full URL); the environment fills in a channel with no connection."""
    from commune_reports.channels import SmtpChannel, WebhookChannel, channels_from_env

    channels: list[Any] = []
    smtp = _connection("COMMUNE_REPORTS_SMTP_CONN_ID", "commune_reports_smtp")
    if smtp is not None:
        extra = smtp.extra_dejson or {}
        channels.append(
            SmtpChannel(
                host=smtp.host,
                port=int(smtp.port or 25),
                sender=extra.get("from", "commune-reports@localhost"),
                user=smtp.login or None,
                password=smtp.password or None,
                starttls=str(extra.get("starttls", "")).lower() in {"1", "true"},
            )
        )
    hook = _connection("COMMUNE_REPORTS_WEBHOOK_CONN_ID", "commune_reports_webhook")
    if hook is not None:
        channels.append(WebhookChannel(url=(hook.extra_dejson or {}).get("url") or hook.host))
    names = {c.name for c in channels}
    return channels + [c for c in channels_from_env() if c.name not in names]


def run_day(context: Any) -> Any:
    """The local (Asia/Ho_Chi_Minh) date a run acts for: its logical date, else run_after."""
    run = context["dag_run"]
    moment = run.logical_date or run.run_after
    return pendulum.instance(moment).in_timezone(TIMEZONE).date()


def _dag_args(dag_id: str, start_date: Any, doc_md: str | None, tag: str) -> dict[str, Any]:
    """What every project DAG sets the same way (the schedule stays explicit in each ``@dag``):
    one run at a time, no automatic catch-up
    (backfills are explicit), the project tag and a failure notifier on the DAG itself."""
    return {
        "dag_id": dag_id,
        "start_date": start_date,
        "catchup": False,
        "max_active_runs": 1,
        "doc_md": doc_md,
        "tags": ["commune-reports", tag],
        "on_failure_callback": FailureNotifier(),
    }


def _defaults(retries: int, minutes: int) -> dict[str, Any]:
    """Task defaults shared by every DAG: owner, retries and the failure notifier."""
    return {
        "owner": "commune-reports",
        "retries": retries,
        "retry_delay": pendulum.duration(minutes=minutes),
        "on_failure_callback": FailureNotifier(),
    }


def _send_alerts(periods: list[str], stages: tuple[str, ...]) -> int:
    """Send the alerts of ``stages`` due on the run's day (a task body)."""
    import datetime as dt

    from commune_reports.alerts import send_due
    from commune_reports.periods import parse_period
    from commune_reports.warehouse import get_engine

    sent = send_due(
        get_engine(_settings().warehouse_url),
        [parse_period(p) for p in periods],
        run_day(get_current_context()),
        alert_channels(),
        dt.datetime.now(dt.UTC),
        stages=stages,
    )
    log.info("alerts delivered: %s", sent)
    return len(sent)


def _settings() -> Any:
    from commune_reports.settings import load_settings

    return load_settings(warehouse_url())


def build_collection_dag(
    dag_id: str,
    period_type: str,
    schedule: Any,
    doc_md: str | None,
    start_date: pendulum.DateTime,
) -> Any:
    """The collection DAG of one period type: find -> archive/register -> parse -> validate
    -> load -> marts -> completeness -> report. Tasks pass a batch id, never data."""

    @dag(
        schedule=schedule,
        **_dag_args(dag_id, start_date, doc_md, period_type),
        params={
            "periods": Param(
                "",
                type="string",
                description=(
                    "Periods to collect: one code (2023Q4, 2023) or a range (2021Q1..2023Q4). "
                    "Empty: the period whose deadline the scheduled run follows."
                ),
            )
        },
        default_args=_defaults(retries=2, minutes=5),
    )
    def collection() -> None:
        @task
        def resolve_periods() -> list[str]:
            """Periods of this run: the param, else the last period due before the run."""
            from commune_reports.catalog import load_catalog
            from commune_reports.periods import parse_period_range, period_due_before

            context = get_current_context()
            requested = (context["params"].get("periods") or "").strip()
            if requested:
                periods = parse_period_range(requested)
                if any(p.period_type != period_type for p in periods):
                    raise ValueError(f"{dag_id} collects {period_type} periods, not {requested}")
                return [p.code for p in periods]
            day = run_day(context)
            regimes = load_catalog().regimes.values()
            primary = next(r for r in regimes if r.period_type == period_type)
            return [period_due_before(day, primary).code]

        @task
        def discover(periods: list[str]) -> str:
            """Archive and register new inbox files of the periods under this run's batch."""
            from commune_reports import stages
            from commune_reports.periods import parse_period

            run_id = get_current_context()["run_id"]
            batch_id = f"{dag_id}:{run_id}"
            found = stages.discover(
                _settings(), batch_id, periods=[parse_period(p) for p in periods]
            )
            log.info("%s new, %s resumed", found["new"], found["resumed"])
            return batch_id

        @task
        def parse(batch_id: str) -> str:
            from commune_reports import stages

            stages.parse_batch(_settings(), batch_id)
            return batch_id

        @task
        def validate(batch_id: str, periods: list[str]) -> str:
            from commune_reports import stages

            log.info("validation: %s", stages.validate_batch(_settings(), batch_id, periods))
            return batch_id

        @task
        def load(batch_id: str) -> str:
            from commune_reports import stages

            log.info("loaded %s submissions", stages.load_batch(_settings(), batch_id))
            return batch_id

        @task
        def build_marts(batch_id: str, periods: list[str]) -> str:
            from commune_reports import stages
            from commune_reports.periods import parse_period
            from commune_reports.pipeline import regimes_for

            stages.build_marts(
                _settings(), [parse_period(p) for p in periods], regimes_for(period_type)
            )
            return batch_id

        @task
        def check_completeness(batch_id: str, periods: list[str]) -> dict[str, Any]:
            from commune_reports import stages
            from commune_reports.periods import parse_period
            from commune_reports.pipeline import regimes_for

            return stages.check_completeness(
                _settings(), [parse_period(p) for p in periods], regimes_for(period_type)
            )

        @task
        def publish_report(periods: list[str]) -> str:
            """Write the district report of the run's periods beside the warehouse."""
            from commune_reports.report import publish

            label = periods[0] if len(periods) == 1 else f"{periods[0]}..{periods[-1]}"
            return str(publish(_settings(), label))

        periods = resolve_periods()
        batch = load(validate(parse(discover(periods)), periods))
        marts = build_marts(batch, periods)

        @task
        def send_deadline_alerts(periods: list[str]) -> int:
            """After the deadline: one roll-up to the district naming every unit missing or
            rejected-only (sent once per period, however often the DAG reruns)."""
            return _send_alerts(periods, ("deadline",))

        checked = check_completeness(marts, periods)
        checked >> [publish_report(periods), send_deadline_alerts(periods)]

    return collection()


def build_alerts_dag(dag_id: str, schedule: Any, doc_md: str | None, start_date: Any) -> Any:
    """The daily DAG: collect what has arrived for every period in its alert window, then send
    the reminders and escalations that are due (each once)."""

    @dag(
        schedule=schedule,
        **_dag_args(dag_id, start_date, doc_md, "alerts"),
        default_args=_defaults(retries=3, minutes=10),
    )
    def alerts() -> None:
        @task
        def open_periods() -> list[str]:
            """Periods whose reminder, deadline or escalation window contains the run's day."""
            from commune_reports.alerts import open_periods as windows
            from commune_reports.catalog import load_catalog

            return [p.code for p in windows(run_day(get_current_context()), load_catalog())]

        @task
        def collect(periods: list[str]) -> list[str]:
            """Load what has arrived, so a unit that has reported is not reminded."""
            from commune_reports.periods import parse_period
            from commune_reports.pipeline import run_periods

            settings = _settings()
            for kind in ("quarter", "year"):
                mine = [parse_period(p) for p in periods if parse_period(p).period_type == kind]
                if mine:
                    run_id = get_current_context()["run_id"]
                    log.info("%s", run_periods(settings, mine, f"{dag_id}:{run_id}:{kind}"))
            return periods

        @task
        def send_reminders_and_escalations(periods: list[str]) -> int:
            """Reminders before the deadline, escalations after it, each sent once."""
            return _send_alerts(periods, ("reminder", "escalation"))

        send_reminders_and_escalations(collect(open_periods()))

    return alerts()
