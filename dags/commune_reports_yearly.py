"""
### Commune reports — yearly collection

Collects the yearly forms (staff conference) of every unit and the province's evaluation of
the district (scores, grades, ranks) for one year, or a range given in the `periods` param
(e.g. `2021..2023`), through the same stages as the quarterly DAG.

Runs at 06:00 Asia/Ho_Chi_Minh on 20 December (after the yearly deadline: cut-off 14/12 plus
2 working days) and again on 1 April, after the evaluation deadline of the year before, so the
province's results are collected once they exist. Each run collects the year whose deadline
has just passed; reruns never double-count.
"""

import pendulum
from airflow.sdk import MultipleCronTriggerTimetable

from commune_reports.airflow_support import build_collection_dag

build_collection_dag(
    dag_id="commune_reports_yearly",
    period_type="year",
    schedule=MultipleCronTriggerTimetable("0 6 20 12 *", "0 6 1 4 *", timezone="Asia/Ho_Chi_Minh"),
    start_date=pendulum.datetime(2021, 1, 1, tz="Asia/Ho_Chi_Minh"),
    doc_md=__doc__,
)
