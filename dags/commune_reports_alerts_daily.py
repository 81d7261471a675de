"""
### Commune reports — daily reminders and escalations

Every morning (07:00 Asia/Ho_Chi_Minh) finds the periods whose alert window contains the day
(from `reminder_days_before` the deadline to `alerts_stop_days_after` it, per regime in
`catalog/regimes.csv`), loads whatever units have sent so far, then sends what is due, each
once: a reminder before the deadline to every unit without a valid report, and an escalation
`escalation_days_after` the deadline to units still missing (copied to the district). The
deadline roll-up itself is sent by the quarterly and yearly DAGs after their run.

Channels: Airflow connections `commune_reports_smtp`, `commune_reports_webhook`, or the
`COMMUNE_REPORTS_SMTP_*` / `COMMUNE_REPORTS_WEBHOOK_URL` environment variables.
"""

import pendulum
from airflow.sdk import CronTriggerTimetable

from commune_reports.airflow_support import build_alerts_dag

build_alerts_dag(
    dag_id="commune_reports_alerts_daily",
    schedule=CronTriggerTimetable("0 7 * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=pendulum.datetime(2021, 1, 1, tz="Asia/Ho_Chi_Minh"),
    doc_md=__doc__,
)
