"""
### Commune reports — light discovery

Every 15 minutes, records the new files in the inbox folders of the periods open for delivery
(from the start of their cut-off window to the end of their alerts) as received now, and does
nothing else: no parsing, no loading. A file's receipt time is when the pipeline first sees it
(the server's clock, which the sender cannot set), so this run keeps it within 15 minutes of
the file's arrival; the collection DAGs then take the recorded files.
"""

import pendulum
from airflow.sdk import CronTriggerTimetable

from commune_reports.airflow_support import build_discovery_dag

build_discovery_dag(
    dag_id="commune_reports_discovery",
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=pendulum.datetime(2021, 1, 1, tz="Asia/Ho_Chi_Minh"),
    doc_md=__doc__,
)
