"""Airflow wiring shared by the DAG files: the task graph and the failure notifier.

Imported only by ``dags/``; the rest of the package never imports Airflow. Nothing heavy is
imported here: pandas, Great Expectations and the drivers load inside the tasks.
"""

from __future__ import annotations

import html
import logging
import os
import re
from typing import Any

import pendulum
from airflow.sdk import BaseNotifier, Param, dag, get_current_context, task

from commune_reports.airflow_approval import approval_param, approval_tasks
from commune_reports.periods import TIMEZONE

log = logging.getLogger(__name__)
WAREHOUSE_CONN_ID = "commune_reports_warehouse"


def _local_time(moment: Any) -> str:
    return pendulum.instance(moment).in_timezone(TIMEZONE).format("HH:mm DD/MM/YYYY")


def _one_line(error: Any) -> str:
    """An error as one line (its type and message, no traceback, no secret), for notices."""
    from commune_reports.redact import mask

    if error is None:
        return ""
    text = str(error).strip().splitlines()
    head = text[0] if text else ""
    line = f"{type(error).__name__}: {head}" if isinstance(error, BaseException) else head
    return mask(line)[:500]


def _notify_team(subject: str, body: str) -> None:
    """Log a notice for the district's data team and mail it to ``COMMUNE_REPORTS_ALERT_TO``
    through the alerts' SMTP channel (the connection ``commune_reports_smtp`` or the
    ``COMMUNE_REPORTS_SMTP_*`` variables)."""
    from commune_reports.channels import Message, SmtpChannel

    log.error("%s\n%s", subject, body)
    to = os.environ.get("COMMUNE_REPORTS_ALERT_TO")
    if not to:
        return
    smtp = next((c for c in alert_channels() if isinstance(c, SmtpChannel)), None)
    if smtp is None:
        log.warning("COMMUNE_REPORTS_ALERT_TO is set but no SMTP server is configured")
        return
    html_body = "".join(f"<p>{html.escape(line)}</p>" for line in body.splitlines() if line)
    for recipient in (r.strip() for r in to.split(",") if r.strip()):
        smtp.send(recipient, Message(subject=subject, text=body, html=html_body, payload={}))


class FailureNotifier(BaseNotifier):
    """Tell the district's data team that a task failed for good (after its retries), or
    that a DAG run failed, naming the task and its error: always in the log, and by e-mail
    when ``COMMUNE_REPORTS_ALERT_TO`` and an SMTP server are set."""

    template_fields = ()

    def notify(self, context: Any) -> None:
        ti = context.get("task_instance") or context.get("ti")
        dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
        run_id = getattr(ti, "run_id", None) or context.get("run_id", "?")
        task = _task_label(ti)
        error = _one_line(context.get("exception"))
        if error and ti is not None:
            # the DAG-level notice, sent later by the DAG processor, reads it back
            try:
                ti.xcom_push(key=FAILURE_KEY, value=error)
            except Exception:  # never let a notice hide the failure itself
                log.exception("could not keep the error of %s for the DAG notice", task)
        if "exception" not in context:  # the DAG-level callback: the run has failed
            error = _failure_of(ti) or context.get("reason") or "?"
            subject = f"[commune-reports] Lượt chạy lỗi / Run failed: {dag_id} ({run_id})"
            body = (
                f"Lượt chạy {run_id} của {dag_id} bị lỗi ở tác vụ {task}: {error}\n"
                f"Run {run_id} of {dag_id} failed at task {task}: {error}\n"
            )
        else:
            subject = f"[commune-reports] Lỗi / Failure: {dag_id}.{task} ({run_id})"
            body = (
                f"Tác vụ {task} của {dag_id}, lượt chạy {run_id}, bị lỗi: {error}\n"
                f"Task {task} of {dag_id}, run {run_id}, failed: {error}\n"
            )
        _notify_team(subject, body)


class RetryNotifier(BaseNotifier):
    """Tell the district's data team that a task failed and will be retried, when and why:
    a retry that succeeds is otherwise invisible, and one that keeps failing is better
    known early."""

    template_fields = ()

    def notify(self, context: Any) -> None:
        ti = context.get("task_instance") or context.get("ti")
        dag_id, run_id = getattr(ti, "dag_id", "?"), getattr(ti, "run_id", "?")
        task = _task_label(ti)
        error = _one_line(context.get("exception"))
        tries = f"{getattr(ti, 'try_number', '?')}/{1 + int(getattr(ti.task, 'retries', 0))}"
        delay = getattr(getattr(ti, "task", None), "retry_delay", None)
        when = _local_time(pendulum.now("UTC") + delay) if delay is not None else "?"
        subject = f"[commune-reports] Chạy lại / Retry: {dag_id}.{task} ({run_id})"
        body = (
            f"Tác vụ {task} của {dag_id}, lượt chạy {run_id}, lỗi ở lần thử {tries}; sẽ chạy "
            f"lại khoảng {when} (giờ Việt Nam): {error}\n"
            f"Task {task} of {dag_id}, run {run_id}, failed on try {tries}; it will be retried "
            f"at about {when} (Asia/Ho_Chi_Minh): {error}\n"
        )
        _notify_team(subject, body)


FAILURE_KEY = "failure"


def _task_label(ti: Any) -> str:
    task_id = getattr(ti, "task_id", None) or "?"
    index = getattr(ti, "map_index", -1)
    return f"{task_id}[{index}]" if isinstance(index, int) and index >= 0 else task_id


def _failure_of(ti: Any) -> str | None:
    """The error the failed task kept for the DAG-level notice, if it could be read."""
    if ti is None:
        return None
    try:
        value = ti.xcom_pull(
            task_ids=ti.task_id, key=FAILURE_KEY, map_indexes=getattr(ti, "map_index", -1)
        )
    except Exception:
        log.exception("could not read the error of %s", _task_label(ti))
        return None
    if isinstance(value, list):
        value = next((v for v in value if v), None)
    return str(value) if value else None


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
    password; extra ``from``, ``tls`` = starttls/ssl/none, ``ca_file``, ``allow_plain_login``)
    and ``commune_reports_webhook`` (extra ``url``, or
    the host as a full URL); the environment fills in a channel with no connection."""
    from commune_reports.channels import SmtpChannel, WebhookChannel, channels_from_env, smtp_tls

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
                tls=smtp_tls(extra.get("tls"), extra),
                ca_file=extra.get("ca_file") or None,
                allow_plain_login=str(extra.get("allow_plain_login", "")).lower()
                in {"1", "true", "yes"},
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


def _defaults(retries: int) -> dict[str, Any]:
    """Task defaults shared by every DAG: owner, retries and the notices of a retry and of
    a failure. The delay between tries is the deployment's ``[core] default_task_retry_delay``
    (Airflow's default: 300 s)."""
    return {
        "owner": "commune-reports",
        "retries": retries,
        "on_retry_callback": RetryNotifier(),
        "on_failure_callback": FailureNotifier(),
    }


def _send_alerts(periods: list[str], stages: tuple[str, ...]) -> int:
    """Send the alerts of ``stages`` due on the run's day (a task body). A run may act for a
    past day (a backfill, or the run an unpause starts for the latest date), but its alerts
    reach people today: nothing is sent about a period whose alerts stopped before today."""
    import datetime as dt

    from commune_reports.alerts import alerts_stopped, send_due
    from commune_reports.catalog import load_catalog
    from commune_reports.periods import parse_period
    from commune_reports.warehouse import get_engine

    now = dt.datetime.now(dt.UTC)
    today = pendulum.instance(now).in_timezone(TIMEZONE).date()
    catalog = load_catalog()
    wanted = [parse_period(p) for p in periods]
    old = [p.code for p in wanted if alerts_stopped(p, today, catalog)]
    if old:
        log.info("no alerts about %s: their alert period ended before today", old)
    sent = send_due(
        get_engine(_settings().warehouse_url),
        [p for p in wanted if p.code not in old],
        run_day(get_current_context()),
        alert_channels(),
        now,
        stages=stages,
    )
    log.info("alerts delivered: %s", sent)
    return len(sent)


def _send_notices() -> int:
    """Deliver the file notices not yet delivered (a task body)."""
    import datetime as dt

    from commune_reports.intake.replies import send_configured
    from commune_reports.notices import send_file_notices
    from commune_reports.warehouse import get_engine

    engine, channels = get_engine(_settings().warehouse_url), alert_channels()
    sent = send_file_notices(engine, channels, dt.datetime.now(dt.UTC))
    log.info("file notices delivered: %s", sent)
    replies = send_configured(engine, channels, dt.datetime.now(dt.UTC))
    log.info("replies to mailed-in forms delivered: %s", replies)
    return len(sent) + len(replies)


def open_source(config: Any, stack: Any) -> Any:
    """One configured source through Airflow's providers: ``ImapHook`` (the mailbox),
    ``SFTPHook`` (the drop) and ``ObjectStoragePath`` (the store), each with its connection."""
    from commune_reports.intake.drops import ObjectPrefix, SftpDrop
    from commune_reports.intake.mailbox import Mailbox

    if config.kind == "imap":
        from airflow.providers.imap.hooks.imap import ImapHook

        hook = ImapHook(imap_conn_id=config.conn_id).get_conn()
        stack.callback(_logout, hook.mail_client)
        return Mailbox(config.name, hook.mail_client, config.folder, config.handled_folder)
    if config.kind == "sftp":
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        sftp = SFTPHook(ssh_conn_id=config.conn_id)
        stack.callback(sftp.close_conn)
        return SftpDrop(config.name, sftp.get_conn(), config.path, config.handled_path)
    from airflow.sdk import ObjectStoragePath

    return ObjectPrefix(config.name, ObjectStoragePath(config.url, conn_id=config.conn_id or None))


def _logout(client: Any) -> None:
    try:
        client.logout()
    except Exception:  # the server may have closed it already
        log.debug("IMAP logout failed", exc_info=True)


def _take_from_sources(batch_id: str) -> dict[str, Any]:
    """Take the configured remote sources' new items into ``batch_id`` (a task body)."""
    from commune_reports.intake.take import take_configured

    taken = take_configured(_settings(), batch_id, opener=open_source)
    if taken:
        log.info("taken from the sources: %s", taken)
    return taken


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
    """The collection DAG of one period type: discover -> parse and validate (one task per
    chunk of files, on any worker) -> load -> marts and completeness -> report and roll-up.
    Tasks pass ids (batch, chunks, period codes), never data."""

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
            ),
            "approval": approval_param(),
        },
        default_args=_defaults(retries=2),
    )
    def collection() -> None:
        @task(multiple_outputs=False)
        def take_from_sources() -> dict[str, Any]:
            """Take the new items of the remote sources (a mailbox, an SFTP drop, an object
            store: ``COMMUNE_REPORTS_SOURCES``) into this run's batch. When a source cannot be
            read the task fails (and is told), and the run goes on with the rest."""
            return _take_from_sources(f"{dag_id}:{get_current_context()['run_id']}")

        @task(multiple_outputs=False, trigger_rule="all_done")
        def discover() -> list[dict[str, Any]]:
            """The run's periods (the param, else the last period due before the run), then
            archive and register their new inbox files under this run's batch, claim the
            unfinished ones, and split the batch into chunks: one item per chunk, each with
            the run's periods (never fewer than one, so the later tasks always run)."""
            from commune_reports import stages
            from commune_reports.periods import parse_period

            context = get_current_context()
            periods = _run_periods(context, dag_id, period_type)
            batch_id = f"{dag_id}:{context['run_id']}"
            found = stages.discover(
                _settings(), batch_id, periods=[parse_period(p) for p in periods]
            )
            return [{"chunk": chunk, "periods": periods} for chunk in found["chunks"]]

        @task(multiple_outputs=False)
        def parse_and_validate(chunk: str, periods: list[str]) -> dict[str, Any]:
            """Parse one chunk's files in limited worker processes, then validate them with
            Great Expectations in one run; rejected files go to quarantine."""
            from commune_reports import stages

            checked = stages.check_chunk(_settings(), chunk, periods)
            log.info("%s", checked)
            return checked

        @task(multiple_outputs=True)
        def load(work: list[dict[str, Any]]) -> dict[str, Any]:
            """Load the batch's validated files into the facts, one transaction."""
            from commune_reports import stages

            batch_id = stages.split_chunk(work[0]["chunk"])[0]
            log.info("loaded %s submissions", stages.load_batch(_settings(), batch_id))
            return {"batch_id": batch_id, "periods": work[0]["periods"]}

        @task(multiple_outputs=False)
        def build_marts(batch_id: str, periods: list[str]) -> dict[str, Any]:
            """Rebuild the marts and completeness, then log who has not reported."""
            from commune_reports import stages
            from commune_reports.periods import parse_period
            from commune_reports.pipeline import regimes_for

            settings, regimes = _settings(), regimes_for(period_type)
            wanted = [parse_period(p) for p in periods]
            stages.build_marts(settings, wanted, regimes)
            return stages.check_completeness(settings, wanted, regimes)

        @task(multiple_outputs=False)
        def publish_report(periods: list[str]) -> dict[str, str]:
            """Publish the report of the run's periods beside the warehouse: text and JSON,
            the draft document (.docx), the HTML report with a page per unit, and the Data
            Docs of the validation results; return their paths."""
            from commune_reports.publish.site import publish_all

            label = periods[0] if len(periods) == 1 else f"{periods[0]}..{periods[-1]}"
            return publish_all(_settings(), label)

        @task(trigger_rule="all_done")
        def send_file_notices() -> int:
            """Tell units at once of their rejected files (every problem in one message), the
            district of corrections held for an approved period, and both of a replacement
            older than the file it replaced; each once. It runs even when a chunk or the load
            failed: the files already handled are told."""
            return _send_notices()

        @task
        def send_deadline_alerts(periods: list[str]) -> int:
            """After the deadline: one roll-up to the district naming every unit missing or
            rejected-only (sent once per period, however often the DAG reruns)."""
            return _send_alerts(periods, ("deadline",))

        work = discover()
        take_from_sources() >> work
        checked = parse_and_validate.expand_kwargs(work)
        loaded = load(work)
        checked >> loaded
        periods = loaded["periods"]
        built = build_marts(loaded["batch_id"], periods)
        published = publish_report(periods)
        built >> [published, send_deadline_alerts(periods)]
        [checked, loaded] >> send_file_notices()
        approval_tasks(periods, _settings, published)

    return collection()


def _run_periods(context: Any, dag_id: str, period_type: str) -> list[str]:
    """Periods of a collection run: the ``periods`` param, else the last period due before
    the run's day."""
    from commune_reports.catalog import load_catalog
    from commune_reports.periods import parse_period_range, period_due_before

    requested = (context["params"].get("periods") or "").strip()
    if requested:
        periods = parse_period_range(requested)
        if any(p.period_type != period_type for p in periods):
            raise ValueError(f"{dag_id} collects {period_type} periods, not {requested}")
        return [p.code for p in periods]
    regimes = load_catalog().regimes.values()
    primary = next(r for r in regimes if r.period_type == period_type)
    return [period_due_before(run_day(context), primary).code]


def build_alerts_dag(dag_id: str, schedule: Any, doc_md: str | None, start_date: Any) -> Any:
    """The daily DAG: collect what has arrived for every period in its alert window, then send
    the reminders and escalations that are due (each once)."""

    @dag(
        schedule=schedule,
        **_dag_args(dag_id, start_date, doc_md, "alerts"),
        default_args=_defaults(retries=3),
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
                    batch = f"{dag_id}:{run_id}:{kind}"
                    log.info("%s", run_periods(settings, mine, batch, opener=open_source))
            return periods

        @task
        def send_reminders_and_escalations(periods: list[str]) -> int:
            """Reminders before the deadline, escalations after it, each sent once; and any
            file notice not delivered yet."""
            return _send_alerts(periods, ("reminder", "escalation")) + _send_notices()

        send_reminders_and_escalations(collect(open_periods()))

    return alerts()


def build_discovery_dag(dag_id: str, schedule: Any, doc_md: str | None, start_date: Any) -> Any:
    """The light discovery: every few minutes, record the new files of the inbox folders of
    the periods open for delivery as received now (nothing else), so that receipt times are
    the server's and close to the files' arrival."""

    @dag(
        schedule=schedule,
        **_dag_args(dag_id, start_date, doc_md, "discovery"),
        default_args=_defaults(retries=1),
    )
    def discovery() -> None:
        @task(multiple_outputs=False)
        def register_new_files() -> dict[str, Any]:
            """Record the new inbox files of the periods open for delivery today."""
            from commune_reports.alerts import delivery_periods
            from commune_reports.catalog import load_catalog
            from commune_reports.stages import register_inbox

            today = pendulum.now(TIMEZONE).date()
            periods = delivery_periods(today, load_catalog())
            found = register_inbox(_settings(), periods)
            return {"periods": [p.code for p in periods], **found}

        @task(multiple_outputs=False)
        def take_from_sources() -> dict[str, Any]:
            """Take the new items of the remote sources, received at the servers' times."""
            now = pendulum.now("UTC")
            return _take_from_sources(f"discovery-{now:%Y%m%dT%H%M%S}-{os.getpid()}")

        register_new_files()
        take_from_sources()

    return discovery()
