"""A real Dovecot IMAP server for tests: its own configuration in a temporary folder.

`Dovecot(folder).start()` runs `dovecot -F -c folder/dovecot.conf` listening on
127.0.0.1 at a free port, plain IMAP (no TLS), any user name with one password, each
user's mail a Maildir under the folder. A test takes a fresh mailbox by taking a new
user (`new_mailbox()`), so tests never see each other's mail. Mail is placed with IMAP
APPEND (`append`), as a mail server would deliver it.

Dovecot refuses to run a mail process as root, so when the tests run as root the
mail belongs to the system user `dovecot` (Debian's package creates it) and the login
processes run as `dovenull`; otherwise everything runs as the current user.
"""

import getpass
import imaplib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "desk-secret"
START_SECONDS = 10

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_location = maildir:{folder}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def available():
    """Why Dovecot cannot run here, or None when it can."""
    if not os.path.exists(DOVECOT):
        return ("Dovecot not found: install the Debian package dovecot-imapd to run the "
                "e-mail channel's tests")
    if os.geteuid() == 0:
        for user in ("dovecot", "dovenull"):
            try:
                pwd.getpwnam(user)
            except KeyError:
                return f"running as root needs the system user {user} (dovecot-imapd makes it)"
    return None


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _accounts():
    """(mail user, login user, internal user): never root, which Dovecot refuses."""
    if os.geteuid() == 0:
        return "dovecot", "dovenull", "dovecot"
    me = getpass.getuser()
    return me, me, me


@dataclass
class Mailbox:
    """One fresh user's mailbox on the server."""

    host: str
    port: int
    user: str
    password: str = PASSWORD
    folder: str = "INBOX"

    @property
    def url(self):
        return f"imap://{self.user}:{self.password}@{self.host}:{self.port}/{self.folder}"

    def connect(self):
        imap = imaplib.IMAP4(self.host, self.port)
        imap.login(self.user, self.password)
        return imap

    def append(self, raw, folder=None):
        """Deliver one message (bytes, as written) into the folder; returns its UID."""
        with self._session() as imap:
            typ, data = imap.append(folder or self.folder, None, None, raw)
            assert typ == "OK", data
            return int(data[0].split(b"]")[0].split()[-1])

    def uids(self, folder=None):
        """The UIDs in a folder ([] when it does not exist)."""
        with self._session() as imap:
            typ, _ = imap.select(_quoted(folder or self.folder), readonly=True)
            if typ != "OK":
                return []
            typ, data = imap.uid("SEARCH", "ALL")
            return [int(uid) for uid in data[0].split()]

    def messages(self, folder=None):
        """The raw messages of a folder, in UID order."""
        with self._session() as imap:
            typ, _ = imap.select(_quoted(folder or self.folder), readonly=True)
            if typ != "OK":
                return []
            typ, data = imap.uid("SEARCH", "ALL")
            raws = []
            for uid in data[0].split():
                _typ, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                raws.append(parts[0][1])
            return raws

    def delete_folder(self, folder):
        with self._session() as imap:
            imap.delete(_quoted(folder))

    def _session(self):
        return _Session(self)


class _Session:
    def __init__(self, mailbox):
        self.mailbox = mailbox

    def __enter__(self):
        self.imap = self.mailbox.connect()
        return self.imap

    def __exit__(self, *exc):
        try:
            self.imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def _quoted(folder):
    return '"' + folder.replace('"', '\\"') + '"'


class Dovecot:
    """Start it, then take `new_mailbox()` per test; `stop()` at the end."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.port = _free_port()
        self.process = None
        self._names = itertools.count(1)

    def start(self):
        mail_user, login_user, internal_user = _accounts()
        account = pwd.getpwnam(mail_user)
        for sub in ("run", "state", "mail", "home"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("mail", "home"):
            os.chown(self.folder / sub, account.pw_uid, account.pw_gid)
        # The mail processes (not root) must reach the folders through their parents.
        self.folder.chmod(0o755)
        config = CONFIG.format(folder=self.folder, port=self.port, password=PASSWORD,
                               uid=account.pw_uid, gid=account.pw_gid,
                               internal_user=internal_user,
                               internal_group=_group_of(internal_user),
                               login_user=login_user)
        (self.folder / "dovecot.conf").write_text(config)
        with open(self.folder / "stderr", "wb") as stderr:
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.folder / "dovecot.conf")],
                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        self._wait_listening()
        return self

    def _wait_listening(self):
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("dovecot exited: " + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)  # waiting for a real process to open its port
        raise RuntimeError("dovecot did not listen in time: " + self.log())

    def log(self):
        texts = [(self.folder / name) for name in ("stderr", "dovecot.log")]
        return "\n".join(path.read_text(errors="replace") for path in texts if path.exists())

    def new_mailbox(self, prefix="desk"):
        """A mailbox nobody has used: a new user name (its Maildir appears on login)."""
        return Mailbox("127.0.0.1", self.port, f"{prefix}{next(self._names)}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _group_of(user):
    import grp
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
