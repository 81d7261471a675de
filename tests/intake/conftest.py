"""The remote sources' servers, started once per test session: Dovecot (IMAP) and OpenSSH
(SFTP); each test starts with an empty mailbox and an empty drop."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.remote_servers import DovecotServer, SftpServer


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    server = DovecotServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> DovecotServer:
    dovecot_server.empty()
    return dovecot_server


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    server = SftpServer(tmp_path_factory.mktemp("sftp"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sftp(sftp_server: SftpServer) -> SftpServer:
    shutil.rmtree(sftp_server.drop, ignore_errors=True)
    sftp_server.drop.mkdir()
    return sftp_server


def write_sources(home: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deployment's sources file, named by COMMUNE_REPORTS_SOURCES."""
    path = home / "sources.toml"
    path.write_text(text, "utf-8")
    monkeypatch.setenv("COMMUNE_REPORTS_SOURCES", str(path))
    return path
