"""Real servers units deliver to: Dovecot (IMAP, Debian's ``dovecot-imapd``) and OpenSSH's
SFTP server (Debian's ``openssh-server``), each started from a configuration written here, on
a loopback port, with one account, and stopped at the end of the test session.

Mail reaches the Dovecot mailbox as it does in production, through Dovecot's own delivery
agent (``dovecot-lda``), which stamps the server's receipt time (INTERNALDATE); a message the
server received at a given earlier time is put there with IMAP APPEND and that time, as a
migration of an older mailbox would.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from tests.servers import free_port

DOVECOT = Path("/usr/sbin/dovecot")
DOVECOT_LDA = Path("/usr/lib/dovecot/dovecot-lda")
SSHD = Path("/usr/sbin/sshd")


def _wait_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}: {_tail(log)}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server not listening on {port}: {_tail(log)}")


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class DovecotServer:
    """Dovecot serving IMAP on a loopback port, plain text logins allowed (loopback only), one
    user whose Maildir lies under ``root`` (a folder Dovecot's own users can reach: made
    here, mode 0755, the mail owned by the ``dovecot`` user)."""

    user = "hopthu"
    password = "mat-khau-thu"

    def __init__(self) -> None:
        # a folder of its own under the system's temp folder: the test's own are mode 0700
        self.root = Path(tempfile.mkdtemp(prefix="commune-reports-dovecot-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.config = self.root / "dovecot.conf"
        self.log = self.root / "dovecot.log"

    def start(self) -> None:
        self.root.chmod(0o755)
        for sub in ("run", "state"):
            (self.root / sub).mkdir(exist_ok=True)
        self._mail_folder()
        (self.root / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        self.config.write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{self.root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.root}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={self.root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol lda {{
  postmaster_address = postmaster@localhost
}}
"""
        )
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        _wait_port(self.port, self.process, self.log)

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(self.user, self.password)
        return client

    def deliver(self, message: EmailMessage) -> None:
        """Deliver as the mail server does: the server stamps when it received the message."""
        subprocess.run(
            [str(DOVECOT_LDA), "-c", str(self.config), "-d", self.user, "-f", message["From"]],
            input=message.as_bytes(),
            check=True,
            capture_output=True,
        )

    def append(self, message: EmailMessage, received: float, folder: str = "INBOX") -> None:
        """Put a message the server received at ``received`` (seconds since the epoch)."""
        client = self.client()
        try:
            status, _ = client.append(
                folder, "", imaplib.Time2Internaldate(received), message.as_bytes()
            )
            assert status == "OK"
        finally:
            client.logout()

    def folder(self, name: str = "INBOX") -> list[bytes]:
        """The messages of a folder, oldest first."""
        client = self.client()
        try:
            status, _ = client.select(f'"{name}"', readonly=True)
            if status != "OK":
                return []
            _, data = client.uid("SEARCH", None, "ALL")
            out = []
            for uid in data[0].split():
                _, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                out.append(parts[0][1])
            return out
        finally:
            client.logout()

    def empty(self) -> None:
        """Remove every message of every folder (between tests)."""
        shutil.rmtree(self.root / "mail", ignore_errors=True)
        self._mail_folder()

    def _mail_folder(self) -> None:
        mail = self.root / "mail"
        mail.mkdir(exist_ok=True)
        shutil.chown(mail, "dovecot", "dovecot")


class SftpServer:
    """OpenSSH's sshd on a loopback port serving SFTP (``internal-sftp``) to the machine's
    root account, which logs in with a key made here; the drop folder is ``drop``."""

    user = "root"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = root / "sshd.log"
        self.key = root / "client_key"
        self.drop = root / "drop"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.drop.mkdir(exist_ok=True)
        host_key = self.root / "host_key"
        for key in (host_key, self.key):
            if not key.exists():
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True
                )
        authorized = self.root / "authorized_keys"
        authorized.write_text(Path(f"{self.key}.pub").read_text())
        os.chmod(authorized, 0o600)
        config = self.root / "sshd_config"
        config.write_text(
            f"""
Port {self.port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {self.root}/sshd.pid
AuthorizedKeysFile {authorized}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
"""
        )
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)],
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the server's log, closed with it
            stderr=subprocess.STDOUT,
        )
        _wait_port(self.port, self.process, self.log)

    def stop(self) -> None:
        _stop(self.process)
