# Airflow image for commune-reports, built by docker-compose.yaml (`docker compose up -d --build`).
#
# It installs exactly the locked runtime set, as `make venv` does for .venv: a virtual
# environment synced with `uv pip sync requirements.lock` (Airflow 3.3.2 and its Celery
# provider, Great Expectations, pandas, the drivers; no test or lint tools, nothing else), then
# the commune_reports package. The tests run the same lock on Python 3.11 on the host.
FROM python:3.11.13-slim-bookworm

ARG UV_VERSION=0.13.9
ENV AIRFLOW_HOME=/opt/airflow \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TZ=Asia/Ho_Chi_Minh \
    COMMUNE_REPORTS_SQL_DIR=/opt/commune-reports/sql \
    COMMUNE_REPORTS_HOME=/opt/commune-reports-data \
    COMMUNE_REPORTS_INBOX=/opt/commune-reports-data/inbox

# curl for the health checks, tini to pass signals to the Airflow processes; the installer (uv)
# lives outside the environment it fills, so the environment holds the lock and nothing more
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl tini tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir "uv==${UV_VERSION}" \
    && useradd --uid 50000 --gid 0 --home-dir /opt/airflow --create-home airflow

WORKDIR /opt/commune-reports
COPY requirements.lock ./
RUN python -m venv /opt/venv \
    && uv pip sync --no-cache --python /opt/venv/bin/python requirements.lock

# The package, installed editable: settings.PROJECT_ROOT is parents[2] of
# include/commune_reports/settings.py, i.e. /opt/commune-reports, so sql/ is found there.
COPY pyproject.toml README.md ./
COPY include/ ./include/
COPY sql/ ./sql/
RUN uv pip install --no-cache --python /opt/venv/bin/python --no-deps -e . \
    && mkdir -p /opt/airflow/dags /opt/airflow/plugins /opt/airflow/logs /opt/airflow/auth \
        /opt/commune-reports-data/inbox /opt/commune-reports-data/archive \
        /opt/commune-reports-data/quarantine /opt/commune-reports-data/reports \
    && chown -R airflow:0 /opt/airflow /opt/commune-reports-data \
    && chmod -R g+rwX /opt/airflow /opt/commune-reports-data

# DAGs baked into the image (docker-compose.yaml also bind-mounts ./dags and ./plugins over
# them, read-only, so an edit needs no rebuild).
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/

USER airflow
WORKDIR /opt/airflow
ENTRYPOINT ["/usr/bin/tini", "--", "airflow"]
CMD ["version"]
