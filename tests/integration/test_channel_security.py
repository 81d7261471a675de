"""Secrets stay secret on the alert channels, against real servers: SMTP with STARTTLS and with
TLS from the start under a certificate made here, logins, and a webhook whose URL holds a
token that must never show in an error, a log line or the warehouse."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from commune_reports.channels import (
    DeliveryError,
    Message,
    SmtpChannel,
    WebhookChannel,
    channels_from_env,
)
from commune_reports.redact import MaskingFilter, mask
from tests.servers import SmtpServer, WebhookServer, make_certificate

PASSWORD = "Pl4nted-smtp-S3cret"
TOKEN = "T0ken-planted-9f8e7d6c"
MESSAGE = Message(subject="Thử / Test", text="nội dung", html="<p>nội dung</p>", payload={})


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(request: pytest.FixtureRequest, cert: tuple[Path, Path]) -> Iterator[SmtpServer]:
    smtp = SmtpServer(tls=request.param, cert=cert, login=("canbo", PASSWORD))
    smtp.start()
    yield smtp
    smtp.stop()


@pytest.mark.parametrize("server", ["starttls", "ssl"], indirect=True)
def test_tls_login_is_verified_against_the_given_authority(
    server: SmtpServer, cert: tuple[Path, Path]
) -> None:
    channel = SmtpChannel(
        host="127.0.0.1",
        port=server.port,
        user="canbo",
        password=PASSWORD,
        tls=server.tls,
        ca_file=str(cert[0]),
        timeout=5,
    )
    channel.send("ubnd@myquy.example.vn", MESSAGE)
    assert [to for to, _ in server.inbox.messages] == [["ubnd@myquy.example.vn"]]
    assert server.logins.attempts == [("canbo", PASSWORD)]


@pytest.mark.parametrize("server", ["starttls", "ssl"], indirect=True)
def test_an_unknown_certificate_is_refused_before_the_password_is_sent(
    server: SmtpServer,
) -> None:
    channel = SmtpChannel(
        host="127.0.0.1", port=server.port, user="canbo", password=PASSWORD, tls=server.tls
    )
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED") as caught:
        channel.send("ubnd@myquy.example.vn", MESSAGE)
    assert PASSWORD not in str(caught.value)
    assert server.logins.attempts == []
    assert server.inbox.messages == []


@pytest.mark.parametrize("server", [None], indirect=True)
def test_no_login_over_a_plain_connection_unless_allowed(server: SmtpServer) -> None:
    refused = SmtpChannel(host="127.0.0.1", port=server.port, user="canbo", password=PASSWORD)
    with pytest.raises(DeliveryError, match="unencrypted") as caught:
        refused.send("ubnd@myquy.example.vn", MESSAGE)
    assert PASSWORD not in str(caught.value)
    assert server.logins.attempts == []
    allowed = SmtpChannel(
        host="127.0.0.1",
        port=server.port,
        user="canbo",
        password=PASSWORD,
        allow_plain_login=True,
    )
    allowed.send("ubnd@myquy.example.vn", MESSAGE)
    assert server.logins.attempts == [("canbo", PASSWORD)]
    assert len(server.inbox.messages) == 1


@pytest.mark.parametrize("server", [None], indirect=True)
def test_a_refused_login_names_no_password(server: SmtpServer) -> None:
    channel = SmtpChannel(
        host="127.0.0.1",
        port=server.port,
        user="canbo",
        password=PASSWORD + "-wrong",
        allow_plain_login=True,
        timeout=5,
    )
    with pytest.raises(DeliveryError, match="login refused") as caught:
        channel.send("ubnd@myquy.example.vn", MESSAGE)
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(channel)


def test_environment_settings_make_the_same_channel(
    monkeypatch: pytest.MonkeyPatch, cert: tuple[Path, Path]
) -> None:
    env = {
        "COMMUNE_REPORTS_SMTP_HOST": "mail.example.vn",
        "COMMUNE_REPORTS_SMTP_PORT": "465",
        "COMMUNE_REPORTS_SMTP_TLS": "ssl",
        "COMMUNE_REPORTS_SMTP_CA_FILE": str(cert[0]),
        "COMMUNE_REPORTS_SMTP_USER": "canbo",
        "COMMUNE_REPORTS_SMTP_PASSWORD": PASSWORD,
    }
    (smtp,) = channels_from_env(env)
    assert (smtp.tls, smtp.port, smtp.ca_file, smtp.allow_plain_login) == (
        "ssl",
        465,
        str(cert[0]),
        False,
    )
    (legacy,) = channels_from_env(
        {"COMMUNE_REPORTS_SMTP_HOST": "h", "COMMUNE_REPORTS_SMTP_STARTTLS": "true"}
    )
    assert legacy.tls == "starttls"
    with pytest.raises(ValueError, match="tls must be one of"):
        channels_from_env({"COMMUNE_REPORTS_SMTP_HOST": "h", "COMMUNE_REPORTS_SMTP_TLS": "yes"})


@pytest.fixture
def failing_webhook() -> Iterator[str]:
    """A webhook that answers 500, at a URL whose path and query hold a token."""
    server = WebhookServer(status=500, path=f"/hooks/{TOKEN}?token={TOKEN}")
    server.start()
    yield server.url
    server.stop()


def test_a_failed_webhook_names_only_its_host(
    failing_webhook: str, caplog: pytest.LogCaptureFixture
) -> None:
    channel = WebhookChannel(url=failing_webhook, timeout=5)
    with pytest.raises(DeliveryError) as caught:
        channel.send("", MESSAGE)
    assert "HTTP 500" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(channel)
    # a log line that quotes the URL (a library's, say) is masked by the filter
    logger = logging.getLogger("commune_reports.test_masking")
    handler = logging.StreamHandler()
    handler.addFilter(MaskingFilter())
    logger.addHandler(handler)
    try:
        with caplog.at_level(logging.WARNING, logger="commune_reports.test_masking"):
            caplog.handler.addFilter(MaskingFilter())
            logger.warning("posting to %s failed", failing_webhook)
    finally:
        logger.removeHandler(handler)
    assert caplog.records and all(TOKEN not in r.getMessage() for r in caplog.records)
    assert mask(f"to {failing_webhook}") == f"to {channel.label.removesuffix('…')}***"
