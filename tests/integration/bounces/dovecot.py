"""A private Dovecot serving one maildir over IMAP, IMAPS, POP3 and POP3S on free
127.0.0.1 ports, configured from scratch in a temporary directory."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from itertools import count
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import free_port, stop

USER = "bounces"
PASSWORD = "p@ss/w#rd?x 1"  # characters a URL must percent-encode; no ':' (passwd-file)
LISTENERS = ("imap", "imaps", "pop3", "pop3s")
_names = count()


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _mail_user() -> str:
    # Dovecot refuses to read mail as root: as root, mail is read as the package's user.
    return "dovecot" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def _give_to_mail_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "dovecot", "dovecot")


def _config(root: Path, ports: dict[str, int], key: Path, cert: Path) -> str:
    """A Dovecot 2.3 configuration that reads nothing outside ``root``."""
    mail_user = _mail_user()
    account = pwd.getpwnam(mail_user)
    group = grp.getgrgid(account.pw_gid).gr_name
    if os.geteuid() == 0:
        internal, login, chroot = "dovecot", "dovenull", ""
    else:
        # Unprivileged, everything runs as this user and nothing can chroot.
        internal = login = mail_user
        chroot = "chroot ="
    return f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
mail_location = maildir:{root}/Maildir
first_valid_uid = {account.pw_uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={group} home={root}/home
}}
# Without this socket there is no auth penalty: refused logins would slow down the
# following ones from 127.0.0.1 by seconds each.
service anvil {{
  {chroot}
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  {chroot}
  inet_listener imap {{
    port = {ports["imap"]}
  }}
  inet_listener imaps {{
    port = {ports["imaps"]}
    ssl = yes
  }}
}}
service pop3-login {{
  {chroot}
  inet_listener pop3 {{
    port = {ports["pop3"]}
  }}
  inet_listener pop3s {{
    port = {ports["pop3s"]}
    ssl = yes
  }}
}}
"""


def version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    return tuple(int(part) for part in out.stdout.split()[0].split(".")[:2])


@dataclass
class Dovecot:
    """The running server and its maildir, which tests fill and inspect directly."""

    root: Path
    ports: dict[str, int]
    process: subprocess.Popen[bytes]

    @property
    def maildir(self) -> Path:
        return self.root / "Maildir"

    def url(self, scheme: str, *, password: str = PASSWORD, folder: str = "") -> str:
        """The mailbox URL for ``scheme``; TLS ones accept the self-signed certificate."""
        port = self.ports[scheme.replace("+starttls", "")]
        path = f"/{quote(folder)}" if folder else ""
        query = "?verify=0" if scheme.endswith(("s", "+starttls")) else ""
        return f"{scheme}://{USER}:{quote(password, safe='')}@127.0.0.1:{port}{path}{query}"

    def folder_path(self, folder: str = "") -> Path:
        return self.maildir / f".{folder}" if folder else self.maildir

    def deliver(self, raw: bytes, folder: str = "") -> None:
        """Deliver as an MDA does: write into tmp/, then move into new/."""
        box = self.folder_path(folder)
        if not (box / "new").is_dir():
            for part in ("cur", "new", "tmp"):
                (box / part).mkdir(parents=True)
                _give_to_mail_user(box / part)
            _give_to_mail_user(box)
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(_names)}.digest-tests"
        (box / "tmp" / name).write_bytes(raw)
        _give_to_mail_user(box / "tmp" / name)
        os.replace(box / "tmp" / name, box / "new" / name)

    def waiting(self, folder: str = "") -> list[bytes]:
        """The messages in the folder, sorted by content."""
        box = self.folder_path(folder)
        files = [p for part in ("new", "cur") for p in (box / part).glob("*") if p.is_file()]
        return sorted(p.read_bytes() for p in files)

    def file_names(self, folder: str = "") -> list[str]:
        box = self.folder_path(folder)
        return sorted(p.name for part in ("new", "cur") for p in (box / part).glob("*"))

    def empty(self) -> None:
        shutil.rmtree(self.maildir, ignore_errors=True)
        self.maildir.mkdir()
        _give_to_mail_user(self.maildir)

    def log(self) -> str:
        """Dovecot's log, after what it wrote to stderr before it had one."""
        paths = [self.root / "stderr.log", self.root / "dovecot.log"]
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())


class DovecotFailed(Exception):
    pass


def _wait_listening(server: Dovecot, deadline: float) -> None:
    waiting = set(server.ports.values())
    while waiting:
        if server.process.poll() is not None:
            raise DovecotFailed(f"dovecot exited with {server.process.returncode}:\n{server.log()}")
        if time.monotonic() > deadline:
            raise DovecotFailed(f"dovecot did not listen on {sorted(waiting)}:\n{server.log()}")
        for port in list(waiting):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    waiting.discard(port)
        time.sleep(0.05)


@contextmanager
def running_dovecot(binary: str) -> Iterator[Dovecot]:
    """Dovecot started in a new temporary directory; stopped and removed afterwards."""
    # Not under pytest's tmp_path: socket paths in base_dir must stay short, and the
    # mail user must be able to reach the maildir.
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    root.chmod(0o755)
    for folder in ("run", "state", "home", "Maildir"):
        (root / folder).mkdir()
    _give_to_mail_user(root / "home")
    _give_to_mail_user(root / "Maildir")
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    key, cert = _self_signed(root)
    ports = {name: free_port() for name in LISTENERS}
    config = root / "dovecot.conf"
    config.write_text(_config(root, ports, key, cert))
    with (root / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            [binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=stderr
        )
    server = Dovecot(root, ports, process)
    try:
        _wait_listening(server, time.monotonic() + 15)
        yield server
    finally:
        stop(process)
        shutil.rmtree(root, ignore_errors=True)
