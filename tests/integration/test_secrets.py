"""Planted secrets reach nobody: a warehouse password (PostgreSQL, trust authentication, so any
password connects), an SMTP password and a webhook token are set, then files are ingested, a
rejection and alerts are sent (the webhook failing), a report finds no figures and the
warehouse becomes unreachable. None of the secrets is in any output, log line, log file, mail
or warehouse row."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.cli import main
from commune_reports.warehouse import dispose_engine, get_engine
from tests.conftest import SAMPLE_INBOX
from tests.integration.test_channel_security import TOKEN, failing_webhook  # noqa: F401
from tests.integration.test_feedback import _form
from tests.servers import SmtpServer

WAREHOUSE_SECRET = "Wh-planted-Pa55"
SMTP_SECRET = "Smtp-planted-Pa55"


def test_planted_secrets_reach_no_output_log_mail_or_row(
    home: Path,
    postgres_url: str,
    failing_webhook: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp = SmtpServer(login=("canbo", SMTP_SECRET))
    smtp.start()
    user, rest = postgres_url.split("://", 1)[1].split("@", 1)
    url = f"postgresql+psycopg://{user}:{WAREHOUSE_SECRET}@{rest}"
    for name, value in {
        "COMMUNE_REPORTS_WAREHOUSE_URL": url,
        "COMMUNE_REPORTS_SMTP_HOST": "127.0.0.1",
        "COMMUNE_REPORTS_SMTP_PORT": str(smtp.port),
        "COMMUNE_REPORTS_SMTP_USER": "canbo",
        "COMMUNE_REPORTS_SMTP_PASSWORD": SMTP_SECRET,
        "COMMUNE_REPORTS_SMTP_ALLOW_PLAIN_LOGIN": "true",
        "COMMUNE_REPORTS_WEBHOOK_URL": failing_webhook,
    }.items():
        monkeypatch.setenv(name, value)
    said = []
    try:
        caplog.set_level(logging.DEBUG)
        shutil.copytree(SAMPLE_INBOX / "2023Q4", home / "inbox" / "2023Q4")
        (home / "inbox" / "2023Q4" / "30052_2023Q4.xlsx").unlink()
        assert main(["run", "--periods", "2023Q4"]) == 0
        assert main(["ingest", str(_form(home))]) == 3  # rejected: its unit is told
        assert main(["alerts", "--period", "2023Q4", "--as-of", "2023-12-16"]) == 1
        out = capsys.readouterr()
        said.append(out.out + out.err)
        assert "webhook http://127.0.0.1:" in out.err  # the failure is told, by host
        assert smtp.logins.attempts and smtp.inbox.messages  # the mails did go out
        assert main(["report", "--period", "2019Q1"]) == 1
        out = capsys.readouterr()
        said.append(out.out + out.err)
        assert f"{user}:***@" in out.err
        with get_engine(url).connect() as conn:
            rows = [
                str(tuple(r))
                for table in ("alerts_sent", "notices_sent", "submission_events")
                for r in conn.execute(text(f"SELECT * FROM {table}"))
            ]
        dispose_engine(url)
        assert any("email" in r for r in rows)  # what was delivered is recorded
        # a warehouse that cannot be reached: one line, the password masked
        monkeypatch.setenv(
            "COMMUNE_REPORTS_WAREHOUSE_URL",
            f"postgresql+psycopg://{user}:{WAREHOUSE_SECRET}@127.0.0.1:1/nowhere",
        )
        assert main(["report", "--period", "2023Q4"]) == 5
        out = capsys.readouterr()
        said.append(out.out + out.err)
        assert ":***@127.0.0.1:1/nowhere" in out.err
    finally:
        smtp.stop()
    log_file = (home / "logs" / "commune-reports.log").read_text("utf-8")
    mails = [m.as_string() for _, m in smtp.inbox.messages]
    everything = {
        "output": "\n".join(said),
        "log records": caplog.text,
        "log file": log_file,
        "mails": "\n".join(mails),
        "warehouse rows": "\n".join(rows),
    }
    for secret in (WAREHOUSE_SECRET, SMTP_SECRET, TOKEN):
        leaks = [where for where, content in everything.items() if secret in content]
        assert leaks == [], (secret, leaks)
