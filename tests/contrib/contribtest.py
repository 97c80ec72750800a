"""Harness for the tests of the contrib plugins (contrib/plugins/*.lua).

Python 3 standard library only.  Each test starts the real chatd (env
CHATD, else ../../chatd next to this file) on a temporary config:

    [server] bind = 127.0.0.1, port = 0, idle_timeout = 0
    [limits] lines_per_second = 0
    [lua]    path = a temp dir holding copies of the default plugins (env
             CHATD_PLUGINS, else ../../plugins) and of the contrib plugins
             under test (env CHATD_SRCDIR + /contrib/plugins, else
             ../../contrib/plugins)
    plus any [plugin.NAME] sections the test gives.

The port comes from the log line "listening on ADDR:PORT"; clients are
sockets on 127.0.0.1.  Every wait is bounded and a failed one raises
AssertionError showing what was received.  The server is stopped by its
own PID (SIGTERM, then SIGKILL); it also dies with the test process
(PR_SET_PDEATHSIG), and a watchdog (env CHATD_TEST_TIMEOUT, default 60
seconds) ends a test file that hangs.  Temporary files live under
tempfile.mkdtemp() only, so the tests run from a read-only source tree
and in parallel.
"""

import atexit
import ctypes
import faulthandler
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHATD = os.environ.get("CHATD") or os.path.normpath(
    os.path.join(HERE, "..", "..", "chatd"))
PLUGINS = os.environ.get("CHATD_PLUGINS") or os.path.normpath(
    os.path.join(HERE, "..", "..", "plugins"))
SRCDIR = os.environ.get("CHATD_SRCDIR") or os.path.normpath(
    os.path.join(HERE, "..", ".."))
CONTRIB = os.path.join(SRCDIR, "contrib", "plugins")

TIMEOUT = 5.0           # one expected line
START_TIMEOUT = 10.0    # the server's "listening on" line
LISTEN_RE = re.compile(r"listening on (\S+):(\d+)")

WATCHDOG = float(os.environ.get("CHATD_TEST_TIMEOUT", "60"))
if WATCHDOG > 0:
    faulthandler.dump_traceback_later(WATCHDOG, exit=True)

_servers = []


@atexit.register
def _stop_all():
    for srv in list(_servers):
        try:
            srv.stop()
        except Exception:
            pass


def _pdeathsig():
    """preexec_fn: the child gets SIGKILL when the test process dies."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def mkdtemp():
    d = tempfile.mkdtemp(prefix="chatd-contrib-")
    atexit.register(shutil.rmtree, d, True)
    return d


def write_config(dirpath, plugins, sections=None, config_text=None,
                 extra=None):
    """Make dirpath/plugins with the default plugins plus the contrib
    plugins named in `plugins` (e.g. ["msg"]) plus test-only plugins in
    extra ({filename: source}), and dirpath/chatd.ini.  sections:
    {"plugin.motd": {"text": "hi"}}; config_text: raw INI lines appended.
    Returns the config path."""
    pdir = os.path.join(dirpath, "plugins")
    os.makedirs(pdir, exist_ok=True)
    for name in sorted(os.listdir(PLUGINS)):
        if name.endswith(".lua"):
            shutil.copy(os.path.join(PLUGINS, name), pdir)
    for name in plugins:
        shutil.copy(os.path.join(CONTRIB, name + ".lua"), pdir)
    for name, src in (extra or {}).items():
        with open(os.path.join(pdir, name), "w") as f:
            f.write(src)
    lines = ["[server]", "bind = 127.0.0.1", "port = 0", "idle_timeout = 0",
             "[limits]", "lines_per_second = 0",
             "[lua]", "path = " + pdir]
    for sec, keys in (sections or {}).items():
        lines.append("[%s]" % sec)
        for k, v in keys.items():
            lines.append("%s = %s" % (k, v))
    if config_text:
        lines.append(config_text)
    path = os.path.join(dirpath, "chatd.ini")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def check_config(plugins, sections=None, config_text=None):
    """Run chatd -t on such a config; returns (rc, stdout, stderr)."""
    path = write_config(mkdtemp(), plugins, sections, config_text)
    try:
        p = subprocess.run([CHATD, "-t", "-c", path],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=10,
                           preexec_fn=_pdeathsig)
    except subprocess.TimeoutExpired:
        raise AssertionError("chatd -t -c %s did not exit in 10 s" % path)
    return p.returncode, p.stdout, p.stderr


class Server:
    """chatd running with the default plugins and some contrib ones."""

    def __init__(self, plugins, sections=None, config_text=None,
                 extra=None):
        self.dir = mkdtemp()
        self.plugins = plugins
        self.extra = extra
        self.config_path = write_config(self.dir, plugins, sections,
                                        config_text, extra)
        self.log_path = os.path.join(self.dir, "chatd.log")
        self.proc = None
        self.port = None
        self.clients = []       # joined clients, in join order

    def start(self):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [CHATD, "-c", self.config_path], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, preexec_fn=_pdeathsig)
        _servers.append(self)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            m = LISTEN_RE.search(self.log())
            if m:
                self.port = int(m.group(2))
                return self
            if self.proc.poll() is not None:
                raise AssertionError("chatd exited with %d before "
                                     "listening; log:\n%s"
                                     % (self.proc.returncode, self.log()))
            time.sleep(0.02)
        raise AssertionError("no 'listening on' line within %ss; log:\n%s"
                             % (START_TIMEOUT, self.log()))

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=TIMEOUT, start=0):
        """Wait for a regex in the log (from offset start); the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log(), start)
            if m:
                return m
            if time.monotonic() >= deadline:
                raise AssertionError("no /%s/ in the log within %ss:\n%s"
                                     % (pattern, timeout, self.log()))
            time.sleep(0.02)

    def rewrite_config(self, sections=None, config_text=None):
        """Write the config again, with other plugin sections."""
        write_config(self.dir, self.plugins, sections, config_text,
                     self.extra)

    def reload(self):
        """SIGHUP, then wait for the reload's outcome; True if done."""
        start = len(self.log())
        os.kill(self.proc.pid, signal.SIGHUP)
        m = self.wait_log(r"reload done|reload failed", start=start)
        return m.group(0) == "reload done"

    def stop(self):
        if self.proc is None:
            return
        for c in self.clients:
            c.close()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self in _servers:
            _servers.remove(self)
        self.proc = None

    def connect(self):
        return Client(self.port)

    def join(self, name, greeting=()):
        """Connect, read the welcome, the online list and the greeting
        lines given, rename to name, and let the clients already joined
        read the join and rename notices.  Returns the client."""
        c = self.connect()
        first = c.expect_re(r"\* welcome (\S+)").group(1)
        c.expect_re(r"\* online \(\d+\): .*")
        for line in greeting:
            c.expect(line)
        for other in self.clients:
            other.expect("* %s joined" % first)
        c.send("rename|" + name)
        c.expect("* you are now " + name)
        for other in self.clients:
            other.expect("* %s is now %s" % (first, name))
        c.name = name
        self.clients.append(c)
        return c

    def sync(self, sender=None):
        """Make every joined client read up to a marker line: proves that
        nothing was queued to it before (the server keeps order)."""
        sender = sender or self.clients[0]
        sender.send("sync-marker")
        for c in self.clients:
            c.expect("[%s]: sync-marker" % sender.name)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Client:
    """A line-based client with bounded reads."""

    def __init__(self, port, timeout=TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buf = b""
        self.seen = []
        self.name = None

    def send(self, line):
        self.sock.sendall(line.encode("utf-8") + b"\n")

    def readline(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line within %ss; lines so far: %r;"
                                     " partial: %r" % (timeout, self.seen,
                                                       self.buf))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise AssertionError("connection closed; lines so far: %r;"
                                     " partial: %r" % (self.seen, self.buf))
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        if line.endswith(b"\r"):
            line = line[:-1]
        line = line.decode("utf-8", "replace")
        self.seen.append(line)
        return line

    def expect(self, want, timeout=TIMEOUT):
        got = self.readline(timeout)
        if got != want:
            raise AssertionError("expected %r, got %r; lines so far: %r"
                                 % (want, got, self.seen))
        return got

    def expect_re(self, pattern, timeout=TIMEOUT):
        got = self.readline(timeout)
        m = re.fullmatch(pattern, got)
        if m is None:
            raise AssertionError("expected /%s/, got %r; lines so far: %r"
                                 % (pattern, got, self.seen))
        return m

    def lines_until(self, want, timeout=TIMEOUT):
        """Read lines up to the line want; the lines before it."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.readline(max(0.01, deadline - time.monotonic()))
            if line == want:
                return got
            got.append(line)

    def ask(self, line, *want):
        """Send a line and expect exactly these lines back."""
        self.send(line)
        for w in want:
            self.expect(w)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
