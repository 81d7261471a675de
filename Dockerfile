# Airflow image for commune-reports: the official image of the pinned Airflow version, plus the
# project's locked dependencies and the commune_reports package (editable, so SQL_DIR resolves
# to /opt/commune-reports/sql). Built by docker-compose.yaml (`docker compose up -d --build`).
FROM apache/airflow:3.3.2-python3.11

# Directories the containers write to. Named volumes mounted on them start with this
# ownership, so the airflow user (uid 50000, gid 0) can write without a chown step.
USER root
RUN mkdir -p \
        /opt/commune-reports \
        /opt/commune-reports-data/inbox \
        /opt/commune-reports-data/archive \
        /opt/commune-reports-data/quarantine \
        /opt/commune-reports-data/reports \
        /opt/airflow/auth \
        /opt/airflow/dags \
        /opt/airflow/logs \
        /opt/airflow/plugins \
    && chown -R airflow:0 \
        /opt/commune-reports \
        /opt/commune-reports-data \
        /opt/airflow/auth \
        /opt/airflow/dags \
        /opt/airflow/logs \
        /opt/airflow/plugins \
    && chmod -R g+rwX /opt/commune-reports-data /opt/airflow/auth /opt/airflow/logs
USER airflow

WORKDIR /opt/commune-reports

# Dependencies first (cached layer). The lock pins apache-airflow==3.3.2, the same version as
# the base image, so this does not up- or downgrade Airflow itself.
COPY --chown=airflow:0 requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# The package, installed editable: settings.PROJECT_ROOT is parents[2] of
# include/commune_reports/settings.py, i.e. /opt/commune-reports, so sql/ is found there.
COPY --chown=airflow:0 pyproject.toml README.md ./
COPY --chown=airflow:0 include/ ./include/
COPY --chown=airflow:0 sql/ ./sql/
RUN pip install --no-cache-dir --no-deps -e .

# DAGs baked into the image (docker-compose.yaml also bind-mounts ./dags and ./plugins over
# /opt/airflow/dags and /opt/airflow/plugins, read-only, for development).
COPY --chown=airflow:0 dags/ /opt/airflow/dags/

ENV COMMUNE_REPORTS_SQL_DIR=/opt/commune-reports/sql \
    COMMUNE_REPORTS_HOME=/opt/commune-reports-data \
    COMMUNE_REPORTS_INBOX=/opt/commune-reports-data/inbox

WORKDIR /opt/airflow
