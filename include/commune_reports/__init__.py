"""commune_reports: commune and district report forms -> validated warehouse -> district figures.

The package never needs Airflow to import; the DAGs in ``dags/`` and the ``commune-reports``
command line both call the same functions in :mod:`commune_reports.pipeline`.
"""

__version__ = "0.1.0"
