"""
### Commune reports — quarterly collection

Collects the quarterly forms of every commune and district agency for one quarter (or a range
given in the `periods` param, e.g. `2021Q1..2023Q4`): archive → parse → validate (Great
Expectations, whole batch) → load → marts → completeness → district report.

Runs at 06:00 Asia/Ho_Chi_Minh on the 20th of each quarter's last month, after the Decree 09
deadline (cut-off the 14th plus 2 working days, see `catalog/regimes.csv`); a scheduled run
collects the quarter whose deadline has just passed. Reruns never double-count.
"""

import pendulum
from airflow.sdk import CronTriggerTimetable

from commune_reports.airflow_support import build_collection_dag

build_collection_dag(
    dag_id="commune_reports_quarterly",
    period_type="quarter",
    schedule=CronTriggerTimetable("0 6 20 3,6,9,12 *", timezone="Asia/Ho_Chi_Minh"),
    start_date=pendulum.datetime(2021, 1, 1, tz="Asia/Ho_Chi_Minh"),
    doc_md=__doc__,
)
