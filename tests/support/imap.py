"""A real Dovecot IMAP server on loopback, for the tests of what reads a recipient's mailbox.

Each `Dovecot` writes a complete dovecot.conf into a temporary folder of its own (nothing under
/etc is read or changed), runs `dovecot -F -c <that file>` as a child process, and removes the
folder when it stops. It listens on 127.0.0.1 only, on two free ports: `tls_port` (implicit TLS,
like 993) and `plain_port` (STARTTLS, like 143), with a certificate for localhost and
127.0.0.1 from a trustme CA (`ca`, `ca_file()`, `ssl_context()`). Users come from a
passwd-file; each has a Maildir in the folder.

    with Dovecot({"recipient@example.test": "app-password"}) as server:
        server.deliver("recipient@example.test", message_bytes, folder=server.junk)
        client = imaplib.IMAP4_SSL("localhost", server.tls_port,
                                   ssl_context=server.ssl_context())
        ...
        assert server.messages("recipient@example.test") == []

By default the folders carry SPECIAL-USE attributes (RFC 6154): Junk `\\Junk`, Sent `\\Sent`,
Trash `\\Trash`, "All Mail" `\\All`. `Dovecot(special_use=False)` names them Spam, Sent, Trash
and Archive without any attribute, so a client must go by names.

Started as root (as CI runs), Dovecot runs its login and internal processes as the `dovenull`
and `dovecot` users that the Debian package creates, and the mailboxes belong to `nobody`.
Started as another user, every process runs as that user and nothing is chrooted (Dovecot's
"rootless" set-up).

Dovecot counts a connection whose source address is its destination address as secured: from
127.0.0.1 to 127.0.0.1 it allows LOGIN before STARTTLS. A client connecting from another
loopback source (127.0.0.2) is treated as remote and sees LOGINDISABLED until STARTTLS.

The tests reach it through the fixtures of `support.imap_fixtures`. To try a client by hand:

    cd tests && python -m support.imap
"""

from __future__ import annotations

import contextlib
import email.message
import email.parser
import email.policy
import grp
import itertools
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

StartDovecot = Callable[..., "Dovecot"]
"""The `start_dovecot` fixture: `start_dovecot(users=None, **options)` (see `Dovecot`)."""

INSTALL_HINT = "apt-get install dovecot-imapd"
USER = "recipient@example.test"
PASSWORD = "recipient-app-password"
"""The account of the `dovecot` fixtures."""
HOST = "127.0.0.1"
CERTIFICATE_NAMES = ("localhost", "127.0.0.1")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 20


class DovecotError(RuntimeError):
    """Dovecot could not be started (the message ends with the tail of its log)."""

    silent = False
    """True when Dovecot kept running but did not answer in time."""


@dataclass(frozen=True)
class Folder:
    """A mailbox the server creates and subscribes for every user."""

    name: str
    special_use: str | None = None
    """An RFC 6154 attribute such as `\\Junk`, or None for a folder known only by its name."""


SPECIAL_USE_FOLDERS = (
    Folder("Junk", "\\Junk"),
    Folder("Sent", "\\Sent"),
    Folder("Trash", "\\Trash"),
    Folder("All Mail", "\\All"),
)
NAMED_FOLDERS = (
    Folder("Spam"),
    Folder("Sent"),
    Folder("Trash"),
    Folder("Archive"),
)


@dataclass(frozen=True)
class StoredMessage:
    """A message file in a user's Maildir, as the filesystem holds it."""

    folder: str
    path: Path
    flags: str
    """The Maildir flags: S seen, T deleted (not yet expunged), F flagged, R answered."""
    headers: email.message.Message

    @property
    def subject(self) -> str:
        return str(self.headers.get("Subject", ""))

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)


def dovecot_binary() -> str | None:
    """The dovecot executable, also when /usr/sbin is not on PATH (as for most users)."""
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require_dovecot() -> None:
    """Skip the calling test when Dovecot is not installed; under CI=true, fail it instead."""
    import pytest

    if dovecot_binary() is not None:
        return
    if in_ci():
        pytest.fail(
            f"dovecot is not installed, and CI=true requires it: {INSTALL_HINT}", pytrace=False
        )
    pytest.skip(f"needs Dovecot: {INSTALL_HINT}")


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now (all held open while choosing)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def _signal_group(group: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, number)


def group_running(group: int) -> bool:
    """Whether a process of `group` is still running. The service processes that outlive the
    master are reparented to init, which may take its time to reap them: zombies do not count.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (command) state ppid pgrp ...": the command may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == group and fields[0] not in ("Z", "X"):
            return True
    return False


def _processes(group: int) -> str:
    """The processes of `group` (pid, state, command line), for an error message."""
    lines = []
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == group:
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    lines.append(f"{entry.name} {fields[0]} {command.strip()}")
    if not lines:
        return ""
    return "\n--- its processes (pid, state, command):\n" + "\n".join(sorted(lines))


def _quote(value: str) -> str:
    """A dovecot.conf value in double quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_field(kind: str, value: str) -> None:
    if not value or any(character in value for character in ":\n\r\0") or value != value.strip():
        raise ValueError(f"{kind} {value!r}: a passwd-file field cannot hold it")


@dataclass(frozen=True)
class _Identity:
    """Who Dovecot's processes and the mailboxes run as."""

    internal_user: str
    internal_group: str
    login_user: str
    mail_uid: int
    mail_gid: int
    rootless: bool


def _identity() -> _Identity:
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for name in ("dovecot", "dovenull"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                raise DovecotError(
                    f"the system user {name!r} is missing (the Debian package creates it: "
                    f"{INSTALL_HINT})"
                ) from None
        return _Identity("dovecot", "dovecot", "dovenull", nobody.pw_uid, nobody.pw_gid, False)
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
    except KeyError:
        raise DovecotError(
            f"uid {os.getuid()} / gid {os.getgid()} have no name, which Dovecot needs"
        ) from None
    return _Identity(user, group, user, os.getuid(), os.getgid(), True)


class Dovecot:
    """A Dovecot IMAP server on 127.0.0.1 for one test (or one module), as a context manager."""

    def __init__(
        self,
        users: Mapping[str, str],
        *,
        special_use: bool = True,
        folders: Sequence[Folder] | None = None,
        ca: Any = None,
        certificate_names: Sequence[str] = CERTIFICATE_NAMES,
        failure_delay: bool = False,
    ) -> None:
        """`users` maps each login to its password (kept in plain text in the passwd-file).

        `folders` replaces the default set (SPECIAL_USE_FOLDERS, or NAMED_FOLDERS when
        `special_use` is false). `ca` is a trustme.CA to share with other peers (a new one by
        default). `failure_delay` keeps Dovecot's 2 s delay and growing penalty after a failed
        login, which are off by default so that a test of a wrong password stays fast.
        """
        import trustme

        if not users:
            raise ValueError("Dovecot needs at least one user")
        for user, password in users.items():
            _check_field("user", user)
            if "/" in user or user.startswith("."):
                raise ValueError(f"user {user!r}: it names a folder, so no '/' or leading '.'")
            _check_field("password", password)
        self.users = dict(users)
        self.special_use = special_use
        self.folders = tuple(
            folders
            if folders is not None
            else (SPECIAL_USE_FOLDERS if special_use else NAMED_FOLDERS)
        )
        for folder in self.folders:
            self._folder_dirname(folder.name)  # rejects names it cannot store
        self.ca = ca or trustme.CA()
        self.certificate_names = tuple(certificate_names)
        self.failure_delay = failure_delay
        self.host = HOST
        self.tls_port = 0
        self.plain_port = 0
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._identity: _Identity | None = None
        self._sequence = itertools.count(1)

    # --- Paths ---------------------------------------------------------------------------------

    def _path(self, *parts: str) -> Path:
        if self.root is None:
            raise RuntimeError("the server is not started")
        return self.root.joinpath(*parts)

    @property
    def config_path(self) -> Path:
        return self._path("dovecot.conf")

    @property
    def log_path(self) -> Path:
        return self._path("dovecot.log")

    def ca_file(self) -> str:
        """A PEM file of the CA that signed the server's certificate."""
        return str(self._path("ca.pem"))

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that verifies the server's certificate against `ca` only."""
        return ssl.create_default_context(cafile=self.ca_file())

    def home(self, user: str) -> Path:
        if user not in self.users:
            raise KeyError(f"no such user: {user!r} (users: {', '.join(self.users)})")
        return self._path("home", user)

    def maildir(self, user: str) -> Path:
        return self.home(user) / "Maildir"

    @property
    def junk(self) -> str:
        """The spam folder's name: the one marked \\Junk, else the first named Junk or Spam."""
        for folder in self.folders:
            if folder.special_use == "\\Junk":
                return folder.name
        for folder in self.folders:
            if folder.name.lower() in ("junk", "spam"):
                return folder.name
        raise LookupError("this server has no spam folder")

    @staticmethod
    def _folder_dirname(folder: str) -> str:
        """Maildir++: INBOX is the Maildir itself, `A/B` is the folder `.A.B` inside it."""
        if folder.upper() == "INBOX":
            return ""
        parts = folder.split("/")
        if not all(parts) or any("." in part or "\0" in part for part in parts):
            raise ValueError(f"folder {folder!r}: no empty parts and no '.' in a name")
        return "." + ".".join(parts)

    # --- Configuration -------------------------------------------------------------------------

    def render_config(self) -> str:
        """The whole dovecot.conf for this instance (the paths are those of the temp folder)."""
        who = self._identity or _identity()
        root = self._path()
        lines = [
            "# Written by tests/support/imap.py for one test run; read by `dovecot -c`.",
            f"base_dir = {root / 'run'}",
            f"state_dir = {root / 'state'}",
            f"instance_name = mailcheck-test-{root.name}",
            f"log_path = {root / 'dovecot.log'}",
            "auth_verbose = yes",
            "protocols = imap",
            f"listen = {self.host}",
            "ssl = required",
            f"ssl_cert = <{root / 'server.pem'}",
            f"ssl_key = <{root / 'server.key'}",
            "auth_mechanisms = plain login",
            f"first_valid_uid = {who.mail_uid}",
            f"first_valid_gid = {who.mail_gid}",
            f"default_internal_user = {who.internal_user}",
            f"default_internal_group = {who.internal_group}",
            f"default_login_user = {who.login_user}",
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN username_format=%u {root / 'users'}",
            "}",
            "userdb {",
            "  driver = passwd-file",
            f"  args = username_format=%u {root / 'users'}",
            "}",
            "mail_location = maildir:~/Maildir",
            "namespace inbox {",
            "  inbox = yes",
            "  separator = /",
        ]
        for folder in self.folders:
            lines.append(f"  mailbox {_quote(folder.name)} {{")
            lines.append("    auto = subscribe")
            if folder.special_use:
                lines.append(f"    special_use = {folder.special_use}")
            lines.append("  }")
        lines += [
            "}",
            "service imap-login {",
            "  inet_listener imap {",
            f"    address = {self.host}",
            f"    port = {self.plain_port}",
            "  }",
            "  inet_listener imaps {",
            f"    address = {self.host}",
            f"    port = {self.tls_port}",
            "    ssl = yes",
            "  }",
        ]
        if who.rootless:
            lines.append("  chroot =")
        lines.append("}")
        anvil = ["service anvil {"]
        if who.rootless:
            anvil.append("  chroot =")
        if not self.failure_delay:
            anvil += ["  unix_listener anvil-auth-penalty {", "    mode = 0", "  }"]
        lines += [*anvil, "}"]
        if not self.failure_delay:
            lines.append("auth_failure_delay = 0")
        if who.rootless:
            lines += ["service ipc {", "  chroot =", "}"]
            lines += ["service auth-worker {", "  user = $default_internal_user", "}"]
        return "\n".join(lines) + "\n"

    def _write_files(self) -> None:
        who = self._identity
        assert who is not None
        root = self._path()
        # The mail processes run as another user when root starts Dovecot: they must reach the
        # homes, and the auth process (user dovecot) must read the passwd-file.
        root.chmod(0o755)
        self.ca.cert_pem.write_to_path(str(root / "ca.pem"))
        certificate = self.ca.issue_cert(*self.certificate_names)
        with (root / "server.pem").open("wb") as stream:
            for pem in certificate.cert_chain_pems:
                stream.write(pem.bytes())
        key = root / "server.key"
        certificate.private_key_pem.write_to_path(str(key))
        key.chmod(0o600)
        passwd = []
        for user, password in self.users.items():
            home = root / "home" / user
            passwd.append(f"{user}:{{PLAIN}}{password}:{who.mail_uid}:{who.mail_gid}::{home}::")
        (root / "users").write_text("\n".join(passwd) + "\n", encoding="utf-8")
        (root / "users").chmod(0o644)
        (root / "home").mkdir(mode=0o755)
        for user in self.users:
            self._make_dir(root / "home" / user, 0o700)
        self.config_path.write_text(self.render_config(), encoding="utf-8")

    def _make_dir(self, path: Path, mode: int = 0o700) -> None:
        """A directory owned by the mail user, as Dovecot would create it."""
        path.mkdir(mode=mode, exist_ok=True)
        self._own(path)

    def _own(self, path: Path) -> None:
        who = self._identity
        if who is not None and not who.rootless:
            os.chown(path, who.mail_uid, who.mail_gid)

    # --- Start and stop ------------------------------------------------------------------------

    def start(self) -> Dovecot:
        binary = dovecot_binary()
        if binary is None:
            raise DovecotError(f"dovecot is not installed: {INSTALL_HINT}")
        self._identity = _identity()
        attempts = 3
        for attempt in range(1, attempts + 1):
            self.root = Path(tempfile.mkdtemp(prefix="mailcheck-dovecot-"))
            self.tls_port, self.plain_port = free_ports(2)
            try:
                self._write_files()
                self._launch(binary)
                self._wait_until_ready()
                return self
            except DovecotError as error:
                self.stop()
                # Another process may have taken a port between choosing and binding it; a
                # Dovecot that stays silent is tried again too, but not without a warning.
                if attempt < attempts and "Address already in use" in str(error):
                    continue
                if attempt < attempts and error.silent:
                    warnings.warn(f"{str(error).splitlines()[0]}; starting another", stacklevel=2)
                    continue
                raise
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")

    def _launch(self, binary: str) -> None:
        output = self._path("dovecot.out").open("wb")
        try:
            self.process = subprocess.Popen(
                [binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self._path(),
                start_new_session=True,
            )
        finally:
            output.close()

    def _wait_until_ready(self) -> None:
        """Poll until the plain port greets and the TLS port completes a verified handshake."""
        deadline = time.monotonic() + START_TIMEOUT
        context = self.ssl_context()
        pending = {"plain": self.plain_port, "tls": self.tls_port}
        while pending:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                raise DovecotError(
                    f"dovecot exited with status {code} while starting" + self.tail()
                )
            for kind, port in list(pending.items()):
                with contextlib.suppress(OSError):
                    if self._greets(port, context if kind == "tls" else None):
                        del pending[kind]
            if pending and time.monotonic() > deadline:
                names = ", ".join(f"{kind} port {port}" for kind, port in pending.items())
                error = DovecotError(
                    f"dovecot did not answer on {names} within {START_TIMEOUT:.0f} s"
                    + _processes(self.process.pid)
                    + self.tail()
                )
                error.silent = True
                raise error
            if pending:
                time.sleep(0.02)

    def _greets(self, port: int, context: ssl.SSLContext | None) -> bool:
        with socket.create_connection((self.host, port), timeout=1.0) as raw:
            if context is None:
                return raw.makefile("rb").readline().startswith(b"* OK")
            with context.wrap_socket(raw, server_hostname="localhost") as secured:
                return secured.makefile("rb").readline().startswith(b"* OK")

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of Dovecot's log and of what it printed, for an error message."""
        if self.root is None:
            return ""
        text = ""
        for name in ("dovecot.out", "dovecot.log"):
            path = self.root / name
            with contextlib.suppress(OSError):
                content = path.read_text(encoding="utf-8", errors="replace").splitlines()
                if content:
                    text += f"\n--- {name} (last {lines} lines):\n" + "\n".join(content[-lines:])
        return text or f"\n(no log in {self.root})"

    def stop(self) -> None:
        """Stop Dovecot and remove its folder.

        SIGTERM goes to the master and to every service process at once (they share the
        master's process group), and each shuts down cleanly. A SIGTERM to the master alone
        would leave the processes that serve a client running after the master has gone. The
        SIGTERM is repeated every 100 ms while the master lives: it may have restarted a service
        (its log process) that died before the master saw its own SIGTERM, and would wait 5 s
        for it. Most stops take milliseconds; about one in five takes 1 s, when the master
        still finds a process exiting and sleeps a second for it. Whatever is still alive
        after STOP_TIMEOUT gets SIGKILL.
        """
        process, self.process = self.process, None
        if process is not None:
            group = process.pid
            deadline = time.monotonic() + STOP_TIMEOUT
            while process.poll() is None:
                if time.monotonic() > deadline:
                    _signal_group(group, signal.SIGKILL)
                    process.wait(STOP_TIMEOUT)
                    break
                _signal_group(group, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(0.1)
            deadline = time.monotonic() + STOP_TIMEOUT
            while group_running(group):
                if time.monotonic() > deadline:
                    _signal_group(group, signal.SIGKILL)
                    break
                time.sleep(0.005)
        root, self.root = self.root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # --- Mailboxes -----------------------------------------------------------------------------

    def deliver(self, user: str, message: bytes, folder: str = "INBOX") -> Path:
        """Deliver `message` into `user`'s `folder` as an MDA does: a file written in tmp/ and
        renamed into new/. The folder is created if it is not there yet. Returns the file."""
        if not isinstance(message, bytes):
            raise TypeError("message must be bytes")
        directory = self.maildir(user)
        self._make_dir(directory)
        dirname = self._folder_dirname(folder)
        if dirname:
            directory = directory / dirname
            self._make_dir(directory)
            marker = directory / "maildirfolder"
            if not marker.exists():
                marker.touch(0o600)
                self._own(marker)
        for sub in ("cur", "new", "tmp"):
            self._make_dir(directory / sub)
        now = time.time()
        seconds, micro = int(now), int((now % 1) * 1_000_000)
        name = f"{seconds}.M{micro}P{os.getpid()}Q{next(self._sequence)}.mailcheck,S={len(message)}"
        staged = directory / "tmp" / name
        with staged.open("xb") as stream:
            stream.write(message)
        staged.chmod(0o600)
        self._own(staged)
        delivered = directory / "new" / name
        os.rename(staged, delivered)
        return delivered

    def messages(self, user: str, folder: str | None = None) -> list[StoredMessage]:
        """The messages in `user`'s Maildir (new/ and cur/), in every folder or in `folder`."""
        root = self.maildir(user)
        if not root.is_dir():
            return []
        wanted = "INBOX" if folder is not None and folder.upper() == "INBOX" else folder
        found = []
        for name, directory in self._folders_on_disk(root):
            if wanted is not None and name != wanted:
                continue
            for path in sorted(self._message_files(directory)):
                found.append(self._read(name, path))
        return found

    def folders_on_disk(self, user: str) -> list[str]:
        """The folder names that have a Maildir on disk for `user` (INBOX first)."""
        root = self.maildir(user)
        return [name for name, _ in self._folders_on_disk(root)] if root.is_dir() else []

    @staticmethod
    def _folders_on_disk(root: Path) -> Iterator[tuple[str, Path]]:
        yield "INBOX", root
        for entry in sorted(root.iterdir()):
            if entry.name.startswith(".") and entry.name not in (".", "..") and entry.is_dir():
                yield entry.name[1:].replace(".", "/"), entry

    @staticmethod
    def _message_files(directory: Path) -> Iterator[Path]:
        for sub in ("new", "cur"):
            with contextlib.suppress(FileNotFoundError):
                yield from (path for path in (directory / sub).iterdir() if path.is_file())

    @staticmethod
    def _read(folder: str, path: Path) -> StoredMessage:
        with path.open("rb") as stream:
            headers = email.parser.BytesHeaderParser(policy=email.policy.default).parse(stream)
        info = path.name.partition(":2,")[2]
        return StoredMessage(folder, path, info, headers)


def _main() -> None:
    """Run a server until Ctrl-C, printing how to reach it (for trying a client by hand)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--user", default=USER)
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--no-special-use", action="store_true")
    options = parser.parse_args()
    with Dovecot({options.user: options.password}, special_use=not options.no_special_use) as s:
        print(f"IMAPS {s.host}:{s.tls_port}, IMAP+STARTTLS {s.host}:{s.plain_port}")
        print(f"user {options.user!r}, password {options.password!r}, CA {s.ca_file()}")
        print(f"log {s.log_path}; Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    _main()
