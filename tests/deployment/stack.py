"""A real Airflow deployment on this machine, for the tests and the scheduler benchmark.

The same components as ``docker-compose.yaml``, started from ``.venv`` without Docker: the API
server, scheduler, DAG processor and triggerer (and, for CeleryExecutor, a Celery worker on the
machine's Redis), against a PostgreSQL metadata database created for the stack and dropped
with it; the warehouse is a second PostgreSQL database. Runs are triggered through the REST
API v2 with a token from the auth manager, as an operator's script would.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get(
    "COMMUNE_REPORTS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("COMMUNE_REPORTS_TEST_REDIS", "redis://127.0.0.1:6379")
ADMIN_PASSWORD = "stack-" + secrets.token_urlsafe(12)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(prefix: str) -> str:
    """A new database on the machine's PostgreSQL; its SQLAlchemy URL (psycopg driver)."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Stack:
    """``with Stack(root, "LocalExecutor") as stack: stack.trigger(...)``."""

    root: Path
    executor: str = "LocalExecutor"
    env_extra: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    metadata_url: str = ""
    warehouse_url: str = ""
    port: int = 0
    _token: str = ""
    _redis_db: int = 0

    # -- set-up ---------------------------------------------------------------------------

    @property
    def home(self) -> Path:
        """COMMUNE_REPORTS_HOME of the deployment: inbox, archive, reports."""
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """The configuration every component gets, as docker-compose.yaml sets it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "COMMUNE_"))}
        fernet = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        env.update(
            {
                "AIRFLOW_HOME": str(self.root / "airflow_home"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
                "AIRFLOW__CORE__FERNET_KEY": fernet,
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                    self.root / "passwords.json"
                ),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
                # psycopg 3 serves the sync and the async metadata connections (no asyncpg)
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": self.metadata_url,
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs / "tasks"),
                "AIRFLOW_CONN_COMMUNE_REPORTS_WAREHOUSE": self.warehouse_url.replace(
                    "postgresql+psycopg://", "postgresql://"
                ),
                "COMMUNE_REPORTS_HOME": str(self.home),
                "COMMUNE_REPORTS_INBOX": str(self.home / "inbox"),
                "GX_ANALYTICS_ENABLED": "False",
            }
        )
        if self.executor == "CeleryExecutor":
            env["AIRFLOW__CELERY__BROKER_URL"] = f"{REDIS_URL}/{self._redis_db}"
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + self.metadata_url
        env.update(self.env_extra)
        return env

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.home / "inbox").mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.root / "passwords.json").write_text(json.dumps({"admin": ADMIN_PASSWORD}))
        self.port = free_port()
        self._redis_db = 1 + uuid.uuid4().int % 14
        self.metadata_url = create_database("airflow_meta")
        self.warehouse_url = create_database("warehouse")
        self.env = self.environment()
        try:
            self.airflow("db", "migrate")
            self._spawn(
                "api-server", "api-server", "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", "1",
            )  # fmt: skip
            self._spawn("scheduler", "scheduler")
            self._spawn("dag-processor", "dag-processor")
            self._spawn("triggerer", "triggerer")
            if self.executor == "CeleryExecutor":
                self._spawn(
                    "celery-worker", "celery", "worker", "--concurrency", "16", "--without-mingle"
                )
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """An ``airflow`` CLI command with the stack's configuration."""
        result = subprocess.run(
            [str(BIN / "airflow"), *args], env=self.env, capture_output=True, text=True
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{result.stdout[-3000:]}\n"
                f"{result.stderr[-3000:]}"
            )
        return result

    def _spawn(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(BIN / "airflow"), *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() ends its children too
        )

    def wait_ready(self, timeout: float = 180) -> None:
        """Until the API answers, the three DAGs are parsed and every component heartbeats."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                health = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                time.sleep(1)
                continue
            healthy = all(
                health.get(part, {}).get("status") == "healthy"
                for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
            )
            celery = self.executor != "CeleryExecutor" or self._celery_ready()
            if healthy and celery and self._dags_parsed():
                return
            time.sleep(1)
        raise TimeoutError(f"the stack was not ready in {timeout} s; logs in {self.logs}")

    def _dags_parsed(self) -> bool:
        dags = self.api("GET", "/api/v2/dags", params={"limit": 100})["dags"]
        return {d["dag_id"] for d in dags} >= EXPECTED_DAGS

    def _celery_ready(self) -> bool:
        return "ready" in (self.logs / "celery-worker.log").read_text(errors="replace")

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        from commune_reports.warehouse import dispose_engine

        for url in (self.metadata_url, self.warehouse_url):
            if url:
                dispose_engine(url)
                drop_database(url)
        if self.executor == "CeleryExecutor" and self._redis_db:
            with contextlib.suppress(Exception):
                import redis

                redis.Redis.from_url(f"{REDIS_URL}/{self._redis_db}").flushdb()

    # -- the REST API -----------------------------------------------------------------------

    def token(self) -> str:
        """A JWT from the auth manager (POST /auth/token with the admin's password)."""
        if not self._token:
            response = httpx.post(
                f"{self.base_url}/auth/token",
                json={"username": "admin", "password": ADMIN_PASSWORD},
                timeout=30,
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.base_url}{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=60,
            **kwargs,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:2000]}")
        return response.json() if response.content else None

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """Trigger a manual run (no logical date) and return its run id."""
        run = self.api(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            json={"logical_date": None, "conf": conf},
        )
        return run["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.api(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
            params={"limit": 1000},
        )["task_instances"]

    def wait_runs(
        self, dag_id: str, count: int, timeout: float = 600, poll: float = 1.0
    ) -> list[dict[str, Any]]:
        """Until ``count`` runs of the DAG have finished; fails at once if one failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            runs = self.runs(dag_id)
            failed = [r for r in runs if r["state"] == "failed"]
            if failed:
                raise AssertionError(self.describe_failure(dag_id, failed[0]["dag_run_id"]))
            done = [r for r in runs if r["state"] == "success"]
            if len(done) >= count:
                return done
            time.sleep(poll)
        raise TimeoutError(f"{dag_id}: fewer than {count} runs finished in {timeout} s")

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 600) -> dict[str, Any]:
        """Until the run has finished; fails with the failed tasks' logs if it failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            run = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] == "failed":
                raise AssertionError(self.describe_failure(dag_id, run_id))
            if run["state"] == "success":
                return run
            time.sleep(1)
        raise TimeoutError(f"{dag_id} {run_id} did not finish in {timeout} s")

    def wait_idle(self, dag_id: str, timeout: float = 300) -> None:
        """Until no run of the DAG is queued or running (any that failed is reported)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs(dag_id)
            failed = [r for r in runs if r["state"] == "failed"]
            if failed:
                raise AssertionError(self.describe_failure(dag_id, failed[0]["dag_run_id"]))
            if not any(r["state"] in ("queued", "running") for r in runs):
                return
            time.sleep(0.5)
        raise TimeoutError(f"{dag_id} still has runs after {timeout} s")

    def describe_failure(self, dag_id: str, run_id: str) -> str:
        lines = [f"{dag_id} run {run_id} failed"]
        for ti in self.task_instances(dag_id, run_id):
            if ti["state"] in ("failed", "upstream_failed", "up_for_retry"):
                lines.append(f"  {ti['task_id']}[{ti.get('map_index', -1)}]: {ti['state']}")
                lines.append(self.task_log(dag_id, run_id, ti)[-4000:])
        return "\n".join(lines)

    def task_log(self, dag_id: str, run_id: str, ti: dict[str, Any]) -> str:
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/"
            f"{ti['try_number']}"
        )
        try:
            content = self.api(
                "GET", path, params={"map_index": ti.get("map_index", -1), "full_content": True}
            )
        except RuntimeError as exc:
            return str(exc)
        events = content.get("content", []) if isinstance(content, dict) else []
        return "\n".join(str(e.get("event", e)) if isinstance(e, dict) else str(e) for e in events)


EXPECTED_DAGS = {
    "commune_reports_quarterly",
    "commune_reports_yearly",
    "commune_reports_alerts_daily",
    "commune_reports_discovery",
}


@contextlib.contextmanager
def running(root: Path, executor: str = "LocalExecutor", **env: str) -> Iterator[Stack]:
    with Stack(root, executor, env_extra=env) as stack:
        yield stack
