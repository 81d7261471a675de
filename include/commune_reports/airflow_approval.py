"""The district's approval of a run's report in Airflow: a human-in-the-loop task of the
standard provider (``HITLOperator``), so it appears among the UI's required actions with the
report, the pending corrections and what each would change; the answer (who, when, a note)
is recorded by :func:`commune_reports.approvals.decide`.

Imported only by :mod:`commune_reports.airflow_support` when it builds a collection DAG.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param, get_current_context, task

log = logging.getLogger(__name__)
APPROVE, NOT_YET = "Duyệt / Approve", "Chưa duyệt / Not approved"
REQUEST_TASK, ANSWER_TASK = "approval_request", "approve_report"


def approval_param() -> Param:
    return Param(
        "auto",
        enum=["auto", "yes", "no"],
        description=(
            "Ask the district to approve the report in the UI's required actions: auto = on "
            "scheduled runs (not on manual runs or backfills), yes = on this run, no = never. "
            "Asked only when a period is not approved yet or has pending corrections."
        ),
    )


def approval_tasks(periods: Any, settings: Any, upstream: Any) -> None:
    """request (skips the rest when nothing is to be decided) -> the human's answer -> record
    it, after ``upstream`` (the published report)."""

    @task.short_circuit(multiple_outputs=False)
    def approval_request(periods: list[str]) -> dict[str, Any] | None:
        """What the district is asked to decide, or nothing (the rest is skipped)."""
        from commune_reports.approvals import state
        from commune_reports.periods import parse_period
        from commune_reports.report import approval_section, load_figures, render_text
        from commune_reports.warehouse import get_engine

        context = get_current_context()
        mode = context["params"].get("approval") or "auto"
        run_type = str(getattr(context["dag_run"], "run_type", "")).lower()
        if mode == "no" or (mode == "auto" and "scheduled" not in run_type):
            log.info("no approval asked (approval=%s, run type %s)", mode, run_type)
            return None
        engine = get_engine(settings().warehouse_url)
        states = [st for p in periods for st in state(engine, parse_period(p))]
        open_ = [st for st in states if st.to_decide]
        if not open_:
            log.info("nothing to decide: %s approved, no pending correction", periods)
            return None
        wanted = sorted({st.period_code for st in open_})
        label = wanted[0] if len(wanted) == 1 else f"{wanted[0]}..{wanted[-1]}"
        report = "".join(
            render_text(load_figures(engine, code)) + approval_section(engine, code)
            for code in wanted
        )
        pending = [c.submission_id for st in open_ for c in st.pending]
        n = len(pending)
        body = (
            f"Duyệt báo cáo kỳ {label}? Khi duyệt, {n} bản sửa chờ duyệt được áp dụng và kỳ bị "
            "khóa: tệp gửi sau chờ huyện quyết định.\n\n"
            f"Approve the report of {label}? Approving applies {n} pending "
            f"correction{'s' if n != 1 else ''} and locks the period: later files wait for the "
            "district's decision."
            f"\n\n```\n{report}```\n"
        )
        run_label = periods[0] if len(periods) == 1 else f"{periods[0]}..{periods[-1]}"
        return {
            "periods": wanted,
            "report": run_label,
            "pending": pending,
            "subject": f"Duyệt báo cáo / Approve the report: {label}",
            "body": body,
        }

    @task(multiple_outputs=False)
    def record_decision(request: dict[str, Any]) -> dict[str, Any]:
        """Record the answer: approve (applying the corrections shown) or not, by whom."""
        import datetime as dt

        from commune_reports.approvals import decide
        from commune_reports.periods import parse_period
        from commune_reports.report import publish

        ti = get_current_context()["ti"]
        answer = ti.xcom_pull(task_ids=ANSWER_TASK) or {}
        user = answer.get("responded_by_user") or {}
        who = user.get("name") or user.get("id") or "?"
        approve = APPROVE in (answer.get("chosen_options") or [])
        note = (answer.get("params_input") or {}).get("note") or None
        done = [
            decide(
                settings(),
                parse_period(code),
                who,
                "airflow",
                dt.datetime.now(dt.UTC),
                approve=approve,
                only=request["pending"],
                note=note,
            )
            for code in request["periods"]
        ]
        # the run's report, and each decided period's own, now state the decision
        for label in dict.fromkeys([request["report"], *request["periods"]]):
            publish(settings(), label)
        log.info("decisions recorded: %s", done)
        return {"decisions": done}

    request = approval_request(periods)
    answer = HITLOperator(
        task_id=ANSWER_TASK,
        subject="{{ ti.xcom_pull(task_ids='" + REQUEST_TASK + "')['subject'] }}",
        body="{{ ti.xcom_pull(task_ids='" + REQUEST_TASK + "')['body'] }}",
        options=[APPROVE, NOT_YET],
        params={"note": Param("", type="string", description="Ghi chú / a note (optional)")},
    )
    upstream >> request >> answer >> record_decision(request)
