"""The sources file and the connections read outside Airflow: the committed example loads,
a wrong file fails with one line naming the source and the fix, connections parse from
Airflow's URI and JSON forms, and attachments are told apart by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commune_reports.intake.config import SourceConfigError, connection_from_env, load_sources
from commune_reports.intake.items import classify

REPO = Path(__file__).resolve().parents[2]


def test_the_example_sources_file_loads() -> None:
    sources = load_sources(REPO / "config" / "sources.example.toml")
    assert [(s.name, s.kind) for s in sources] == [
        ("hop-thu-huyen", "imap"),
        ("sftp-huyen", "sftp"),
        ("kho-tinh", "object"),
    ]
    assert load_sources("") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[source]]\nname = "a"\nkind = "ftp"\n', "needs a name and a kind"),
        ('[[source]]\nname = "a"\nkind = "imap"\n', "(a): needs conn_id"),
        ('[[source]]\nname = "a"\nkind = "sftp"\nconn_id = "c"\n', "needs the drop folder"),
        ('[[source]]\nname = "a"\nkind = "object"\npassword = "x"\n', "unknown keys"),
        ('[[source]]\nname = "a"\nkind = "object"\nurl = "s3://b/"\n' * 2, "used twice"),
        ("[[source]\n", "sources file"),
    ],
)
def test_a_wrong_sources_file_says_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(text)
    with pytest.raises(SourceConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_sources(path)


def test_connections_from_the_environment() -> None:
    env = {
        "AIRFLOW_CONN_MAIL": "imap://hop%40thu:m%E1%BA%ADt@mail.example.vn:993?use_ssl=true",
        "AIRFLOW_CONN_DROP": json.dumps(
            {"conn_type": "sftp", "host": "h", "port": 2222, "extra": {"key_file": "/k"}}
        ),
    }
    mail = connection_from_env("mail", env)
    assert (mail.login, mail.password, mail.host, mail.port) == (
        "hop@thu",
        "mật",
        "mail.example.vn",
        993,
    )
    assert mail.extra == {"use_ssl": "true"} and "mật" not in repr(mail)
    drop = connection_from_env("drop", env)
    assert (drop.port, drop.extra) == (2222, {"key_file": "/k"})
    with pytest.raises(SourceConfigError, match="AIRFLOW_CONN_NONE"):
        connection_from_env("none", env)


@pytest.mark.parametrize(
    ("name", "content_type", "kind"),
    [
        ("30052_2023Q4.xlsx", "application/octet-stream", "form"),
        ("BAO CAO.XLS", "", "form"),
        ("bao_cao.csv", "text/csv", "form"),
        ("forms.zip", "application/zip", "archive"),
        ("chu_ky.png", "image/png", "image"),
        ("image001", "image/jpeg", "image"),
        ("cong_van.pdf", "application/pdf", "not_a_form"),
        ("bao_cao.docx", "", "not_a_form"),
    ],
)
def test_attachments_by_name(name: str, content_type: str, kind: str) -> None:
    assert classify(name, content_type) == kind
