"""docker-compose.yaml, .env.example and the Dockerfile, checked as far as a machine without a
Docker engine allows: the file's structure after compose's variable interpolation, pinned
images, placeholders that stop the stack, ports on 127.0.0.1, the same components and settings
as the deployment the tests start (stack.py), and an image that installs the runtime lock only.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deployment.stack import Stack

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yaml").read_text("utf-8"))
SECRETS = ("POSTGRES_PASSWORD", "WAREHOUSE_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET")
AIRFLOW_SERVICES = {
    "airflow-init": "db migrate",
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
_VARIABLE = re.compile(r"\$(?:\$|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


class Unset(Exception):
    """A ``${VAR:?message}`` whose variable is unset or empty: compose refuses to start."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
    ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3) or ""
        current = env.get(name)
        empty = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":-", "-"):
            return arg if empty else current
        if op in (":?", "?") and empty:
            raise Unset(f"{name}: {arg}")
        return current or ""

    return _VARIABLE.sub(one, value)


def env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text("utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def secrets() -> dict[str, str]:
    return {
        "POSTGRES_PASSWORD": "pg-" + os.urandom(8).hex(),
        "WAREHOUSE_PASSWORD": "wh-" + os.urandom(8).hex(),
        "AIRFLOW_FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIRFLOW_JWT_SECRET": os.urandom(32).hex(),
    }


def test_placeholders_stop_the_stack() -> None:
    example = env_file(REPO / ".env.example")
    for name in SECRETS:
        assert example[name] == "", f"{name} must be empty in .env.example"
    with pytest.raises(Unset, match="POSTGRES_PASSWORD"):
        interpolate(COMPOSE, example)
    for name in SECRETS:  # each secret on its own stops it too
        with pytest.raises(Unset, match=name):
            interpolate(COMPOSE, example | secrets() | {name: ""})
    interpolate(COMPOSE, example | secrets())


def test_the_commands_in_env_example_make_usable_secrets() -> None:
    from cryptography.fernet import Fernet

    text = (REPO / ".env.example").read_text("utf-8")
    commands = re.findall(r'python3 -c "(.+)"', text)
    assert len(commands) == 4
    values = []
    for code in commands:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, {})  # the file's own one-liners
        values.append(out.getvalue().strip())
    Fernet(values[2].encode())  # a valid Fernet key
    assert all(re.fullmatch(r"[A-Za-z0-9_\-=]{32,}", v) for v in values), values


def test_images_are_pinned() -> None:
    images = {name: s["image"] for name, s in COMPOSE["services"].items() if "image" in s}
    own = COMPOSE["x-airflow-common"]["image"]
    for name, image in images.items():
        if image == own:
            continue
        tag = image.partition(":")[2]
        assert re.match(r"\d+\.\d+(\.\d+)?", tag), f"{name}: {image} is not pinned"
    assert images["postgres"].startswith("postgres:15.")
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    (base,) = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base


def test_ports_are_bound_to_localhost_by_default() -> None:
    resolved = interpolate(COMPOSE, env_file(REPO / ".env.example") | secrets())
    ports = [p for s in resolved["services"].values() for p in s.get("ports", [])]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports), ports
    opened = interpolate(COMPOSE, secrets() | {"AIRFLOW_API_BIND": "0.0.0.0"})
    assert opened["services"]["airflow-apiserver"]["ports"] == ["0.0.0.0:8080:8080"]


def _airflow_env(executor: str) -> dict[str, dict[str, str]]:
    env = env_file(REPO / ".env.example") | secrets() | {"AIRFLOW_EXECUTOR": executor}
    resolved = interpolate(COMPOSE, env)
    return {
        name: {k: str(v) for k, v in resolved["services"][name]["environment"].items()}
        for name in AIRFLOW_SERVICES
    }


def test_the_same_components_and_settings_as_the_tested_deployment(tmp_path: Path) -> None:
    services = COMPOSE["services"]
    for name, command in AIRFLOW_SERVICES.items():
        assert " ".join(services[name]["command"]) == command, name
    assert services["airflow-worker"]["profiles"] == ["celery"]
    assert services["redis"]["profiles"] == ["celery"]
    assert "profiles" not in services["airflow-scheduler"]  # LocalExecutor needs no profile

    tested = Stack(tmp_path, "CeleryExecutor", metadata_url="postgresql+psycopg://x@h/db")
    host_only = {  # where the host keeps things; the image has its own places
        "AIRFLOW__CORE__DAGS_FOLDER",
        "AIRFLOW__CORE__PLUGINS_FOLDER",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER",
        "AIRFLOW_HOME",
    }
    wanted = {
        k
        for k in tested.environment()
        if k.startswith(("AIRFLOW", "COMMUNE_REPORTS_HOME", "COMMUNE_REPORTS_INBOX"))
    } - host_only
    for name, env in _airflow_env("CeleryExecutor").items():
        assert wanted <= set(env), (name, sorted(wanted - set(env)))
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379")
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg://")
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"].startswith("postgresql+psycopg")
        assert env["AIRFLOW_CONN_COMMUNE_REPORTS_WAREHOUSE"].endswith("@postgres:5432/warehouse")
        # the warehouse is written by its own owner, not by Airflow's metadata superuser
        for key in ("AIRFLOW_CONN_COMMUNE_REPORTS_WAREHOUSE", "COMMUNE_REPORTS_WAREHOUSE_URL"):
            assert "://commune_reports:" in env[key], (name, key)
            assert "airflow" not in env[key].split("@")[0], (name, key)
    for env in _airflow_env("LocalExecutor").values():
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    # every Airflow container shares the data volume: the archive a file is registered in must
    # be readable by whichever worker parses it
    for name in AIRFLOW_SERVICES:
        volumes = services[name].get("volumes", COMPOSE["x-airflow-common"]["volumes"])
        assert "commune-reports-data:/opt/commune-reports-data" in volumes, name


def test_the_image_installs_the_runtime_lock_only() -> None:
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    assert "uv pip sync" in dockerfile and "requirements.lock" in dockerfile
    assert "requirements-dev" not in dockerfile and "pip install -r" not in dockerfile
    runtime = (REPO / "requirements.lock").read_text("utf-8")
    for tool in ("pytest", "ruff", "sqlfluff", "hypothesis", "aiosmtpd"):
        assert not re.search(rf"^{tool}==", runtime, re.MULTILINE), tool
    for package in ("apache-airflow", "apache-airflow-providers-celery", "great-expectations"):
        assert re.search(rf"^{package}==", runtime, re.MULTILINE), package


def test_warehouse_init_makes_and_hands_over_the_warehouse(tmp_path: Path) -> None:
    """The warehouse-init script itself, run by sh and psql against the real PostgreSQL (its
    role and database renamed for the test): a warehouse an older version made as the
    superuser is handed to its own owner; a second run changes nothing and succeeds."""
    import shutil
    import subprocess
    import uuid

    from sqlalchemy import create_engine, text

    from commune_reports.warehouse import dispose_engine, ensure_schema, get_engine
    from tests.conftest import PG_ADMIN_URL

    if shutil.which("psql") is None:
        pytest.fail("psql (postgresql-client) is needed: it is what the init container runs")
    tag = uuid.uuid4().hex[:8]
    role, database = f"cr_owner_{tag}", f"cr_wh_{tag}"
    env = env_file(REPO / ".env.example") | secrets()
    service = interpolate(COMPOSE["services"]["warehouse-init"], env)
    (script,) = service["command"]
    script = script.replace("commune_reports", role).replace("warehouse", database)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {database}"))  # as an older version left it
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    ensure_schema(get_engine(url))
    dispose_engine(url)
    host = PG_ADMIN_URL.rsplit("@", 1)[1].split("/")[0]
    run_env = os.environ | {
        "PGHOST": host.split(":")[0],
        "PGPORT": host.split(":")[1] if ":" in host else "5432",
        "PGUSER": PG_ADMIN_URL.split("://")[1].split("@")[0].split(":")[0],
        "PGDATABASE": "postgres",
        "WAREHOUSE_PASSWORD": service["environment"]["WAREHOUSE_PASSWORD"],
    }
    try:
        for _ in range(2):
            done = subprocess.run(
                ["/bin/sh", "-ec", script], env=run_env, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stdout + done.stderr
        owned = create_engine(url)
        with owned.connect() as conn:
            owners = set(
                conn.execute(
                    text(
                        "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' UNION "
                        "SELECT viewowner FROM pg_views WHERE schemaname = 'public' UNION "
                        "SELECT pg_get_userbyid(datdba) FROM pg_database "
                        "WHERE datname = current_database()"
                    )
                ).scalars()
            )
            flags = conn.execute(
                text(
                    "SELECT rolsuper, rolcreaterole, rolpassword IS NOT NULL FROM pg_authid "
                    "WHERE rolname = :r"
                ),
                {"r": role},
            ).one()
        owned.dispose()
        assert owners == {role}
        assert tuple(flags) == (False, True, True)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()
