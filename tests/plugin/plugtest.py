"""A small harness for the chatd plugin API tests.

Python 3 standard library only.  Each test starts the real binary (env
CHATD, else ../../chatd next to this file) on a config written into a
private temp dir, with its own plugin directory: the default plugins (env
CHATD_PLUGINS, else ../../plugins) when a test wants the room, plus the
test's Lua sources.  The server listens on 127.0.0.1 port 0; the real
port is read from the log line "listening on ADDR:PORT".

Every wait is bounded.  A watchdog (env CHATD_TEST_TIMEOUT, default 60 s)
ends a stuck test process; servers die with it (PR_SET_PDEATHSIG) and are
otherwise stopped by their own PID.  When a server stops, its log is
checked for sanitizer reports, so the tests double as ASan/UBSan runs.
"""

import atexit
import ctypes
import faulthandler
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHATD = os.environ.get("CHATD") or os.path.normpath(
    os.path.join(HERE, "..", "..", "chatd"))
PLUGINS = os.environ.get("CHATD_PLUGINS") or os.path.normpath(
    os.path.join(HERE, "..", "..", "plugins"))
KEEP = bool(os.environ.get("CHATD_KEEP"))

TIMEOUT = 5.0
WATCHDOG = float(os.environ.get("CHATD_TEST_TIMEOUT", "60"))
if WATCHDOG > 0:
    faulthandler.dump_traceback_later(WATCHDOG, exit=True)

LISTEN_RE = re.compile(r"listening on (\S+):(\d+)")
SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Undefined)Sanitizer|"
                          r"runtime error:|AddressSanitizer")

_servers = []


def _pdeathsig():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


@atexit.register
def _cleanup():
    for s in list(_servers):
        try:
            s.stop(check=False)
        except Exception:
            pass


def tempdir():
    d = tempfile.mkdtemp(prefix="chatd-plugin-")
    if not KEEP:
        atexit.register(shutil.rmtree, d, True)
    return d


def is_sanitized(path=CHATD):
    """Whether the binary was built with AddressSanitizer."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def ini(sections):
    out = []
    for sec, keys in sections.items():
        out.append("[%s]" % sec)
        for k, v in keys.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            out.append("%s = %s" % (k, v))
        out.append("")
    return "\n".join(out)


def base_config(plugin_dir, config=None):
    cfg = {
        "server": {"bind": "127.0.0.1", "port": 0},
        "limits": {"lines_per_second": 0},
        "lua": {"path": plugin_dir, "max_instructions": 100000},
        "log": {"level": "debug"},
    }
    for sec, keys in (config or {}).items():
        cfg.setdefault(sec, {})
        for k, v in keys.items():
            if v is None:
                cfg[sec].pop(k, None)
            else:
                cfg[sec][k] = v
    return cfg


def run_check(plugins, room=False, config=None, timeout=10):
    """chatd -t on a config with these plugins: CompletedProcess."""
    d = tempdir()
    pdir = os.path.join(d, "plugins")
    write_plugins(pdir, plugins, room)
    path = os.path.join(d, "chatd.ini")
    with open(path, "w") as f:
        f.write(ini(base_config(pdir, config)))
    try:
        r = subprocess.run([CHATD, "-t", "-c", path],
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, text=True, errors="replace",
                           preexec_fn=_pdeathsig)
    except subprocess.TimeoutExpired:
        raise AssertionError("chatd -t did not exit within %ss" % timeout)
    m = SANITIZER_RE.search(r.stderr)
    if m:
        raise AssertionError("sanitizer report from chatd -t:\n%s"
                             % r.stderr[max(0, m.start() - 200):][:6000])
    return r, pdir


def write_plugins(pdir, plugins, room):
    os.makedirs(pdir, exist_ok=True)
    if room:
        for name in sorted(os.listdir(PLUGINS)):
            if name.endswith(".lua"):
                shutil.copy(os.path.join(PLUGINS, name),
                            os.path.join(pdir, name))
    for name, src in (plugins or {}).items():
        with open(os.path.join(pdir, name), "w") as f:
            f.write(src)


class Server:
    """chatd on a private config.

    plugins: {file name: Lua source}; room: copy the default plugins too;
    config: {section: {key: value}} over the defaults (None drops a key).
    """

    def __init__(self, plugins=None, room=True, config=None):
        self.dir = tempdir()
        self.plugin_dir = os.path.join(self.dir, "plugins")
        write_plugins(self.plugin_dir, plugins, room)
        self.config = base_config(self.plugin_dir, config)
        self.config_path = os.path.join(self.dir, "chatd.ini")
        self.write_config()
        self.log_path = os.path.join(self.dir, "chatd.log")
        self.proc = None
        self._stopped = False
        self.port = None
        self.clients = []

    def write_config(self, config=None):
        if config is not None:
            self.config = config
        with open(self.config_path, "w") as f:
            f.write(ini(self.config))

    # -- plugins -------------------------------------------------------
    def add_plugin(self, name, src):
        with open(os.path.join(self.plugin_dir, name), "w") as f:
            f.write(src)

    def remove_plugin(self, name):
        os.unlink(os.path.join(self.plugin_dir, name))

    def plugin_path(self, name):
        return os.path.join(self.plugin_dir, name)

    # -- lifecycle -----------------------------------------------------
    def start(self):
        if not os.access(CHATD, os.X_OK):
            raise AssertionError("no chatd binary at %s (set CHATD)" % CHATD)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [CHATD, "-c", self.config_path], stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=self._log, cwd=self.dir,
            preexec_fn=_pdeathsig)
        _servers.append(self)
        m = self.wait_log(LISTEN_RE, 10)
        self.port = int(m.group(2))
        return self

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop(check=False)
            raise

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            sys.stderr.write("---- chatd log %s ----\n%s\n---- end ----\n"
                             % (self.log_path, self.log()[-8000:]))
        self.stop(check=exc_type is None)
        return False

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def hup(self):
        os.kill(self.proc.pid, signal.SIGHUP)

    def stop(self, check=True):
        """Close our clients, SIGTERM our own child, wait bounded (then
        SIGKILL it), and check its log for sanitizer reports."""
        for c in list(self.clients):
            c.close()
        if self.proc is None:
            return None
        if self._stopped:
            return self.proc.returncode
        self._stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self in _servers:
            _servers.remove(self)
        if not self._log.closed:
            self._log.close()
        rc = self.proc.returncode
        if check:
            text = self.log()
            m = SANITIZER_RE.search(text)
            if m:
                raise AssertionError("sanitizer report in the log:\n%s"
                                     % text[max(0, m.start() - 200):][:6000])
            if rc != 0:
                raise AssertionError("chatd exited with status %s; log:\n%s"
                                     % (rc, text[-4000:]))
        return rc

    # -- log -----------------------------------------------------------
    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def mark(self):
        """A position in the log; wait_log(after=mark) looks past it."""
        return len(self.log())

    def wait_log(self, regex, timeout=TIMEOUT, after=0):
        rx = re.compile(regex) if isinstance(regex, str) else regex
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()
            m = rx.search(text, after)
            if m:
                return m
            if self.proc.poll() is not None:
                raise AssertionError("chatd exited (status %s) before logging "
                                     "%r; log:\n%s" % (self.proc.returncode,
                                                      rx.pattern, text[-4000:]))
            if time.monotonic() > deadline:
                raise AssertionError("log did not match %r within %.1fs; "
                                     "log:\n%s" % (rx.pattern, timeout,
                                                   text[-4000:]))
            time.sleep(0.02)

    def reload(self, timeout=TIMEOUT):
        """SIGHUP; wait for "reload done" or "reload failed" after it.
        Returns (ok, the log line)."""
        m0 = self.mark()
        self.hup()
        m = self.wait_log(r"[^\n]*reload (done|failed)[^\n]*", timeout, m0)
        return m.group(1) == "done", m.group(0)

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    # -- clients -------------------------------------------------------
    def client(self, welcome=True):
        """Connect; with welcome (the room loaded), read the welcome and
        online lines."""
        c = Client(self.port)
        self.clients.append(c)
        if welcome:
            c.expect("* welcome " + c.name)
            c.expect_match(r"\* online \(\d+\): .*")
        return c


class Client:
    """A line client; the server's lines end in CRLF."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.name = "%s:%d" % self.sock.getsockname()[:2]
        self.buf = b""
        self.eof = False
        self.history = []

    def send(self, text):
        if isinstance(text, str):
            text = text.encode("utf-8")
        self.sock.sendall(text + b"\n")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self, deadline):
        if self.eof:
            return False
        r, _, _ = select.select([self.sock], [], [],
                                max(0, deadline - time.monotonic()))
        if not r:
            return False
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, OSError):
            data = b""
        if not data:
            self.eof = True
        self.buf += data
        return True

    def _take(self):
        i = self.buf.find(b"\n")
        if i < 0:
            return None
        raw, self.buf = self.buf[:i + 1], self.buf[i + 1:]
        if not raw.endswith(b"\r\n"):
            raise AssertionError("%s: line without CRLF: %r" % (self.name, raw))
        line = raw[:-2].decode("utf-8", "replace")
        self.history.append(line)
        return line

    def line(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            line = self._take()
            if line is not None:
                return line
            if self.eof:
                raise AssertionError("%s: closed while waiting for a line; "
                                     "last lines %r" % (self.name,
                                                        self.history[-8:]))
            if not self._fill(deadline) and time.monotonic() >= deadline:
                raise AssertionError("%s: no line within %.1fs; last lines %r"
                                     % (self.name, timeout, self.history[-8:]))

    def expect(self, want, timeout=TIMEOUT):
        got = self.line(timeout)
        if got != want:
            raise AssertionError("%s: expected %r, got %r; last lines %r"
                                 % (self.name, want, got, self.history[-8:]))
        return got

    def expect_match(self, regex, timeout=TIMEOUT):
        got = self.line(timeout)
        m = re.fullmatch(regex, got)
        if not m:
            raise AssertionError("%s: expected a line matching %r, got %r"
                                 % (self.name, regex, got))
        return m

    def until(self, pred, timeout=TIMEOUT):
        """Lines up to and including the first matching pred (a string is
        an exact line); all within timeout."""
        if isinstance(pred, str):
            want = pred
            pred = lambda l: l == want  # noqa: E731
        deadline = time.monotonic() + timeout
        got = []
        while True:
            try:
                got.append(self.line(max(0.0, deadline - time.monotonic())))
            except AssertionError as e:
                raise AssertionError("until: not met after %r: %s"
                                     % (got[-8:], e))
            if pred(got[-1]):
                return got

    def ask(self, line, timeout=TIMEOUT):
        """Send a line and return the next line received."""
        self.send(line)
        return self.line(timeout)

    def no_line(self, within=0.4):
        """Assert that nothing arrives (and no close) within `within`."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            line = self._take()
            if line is not None:
                raise AssertionError("%s: expected nothing, got %r"
                                     % (self.name, line))
            if self.eof:
                raise AssertionError("%s: expected nothing, got a close"
                                     % self.name)
            self._fill(deadline)
        line = self._take()
        if line is not None:
            raise AssertionError("%s: expected nothing, got %r"
                                 % (self.name, line))

    def expect_closed(self, timeout=TIMEOUT):
        """Read to the server's close; returns the lines read meanwhile."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            line = self._take()
            if line is not None:
                lines.append(line)
                continue
            if self.eof:
                return lines
            if not self._fill(deadline) and time.monotonic() >= deadline:
                raise AssertionError("%s: not closed within %.1fs; read %r"
                                     % (self.name, timeout, lines[-8:]))

    def sync(self, token="sync"):
        """Round trip through a '_sync' command (see SYNC_PLUGIN): every
        line sent before has been handled when this returns."""
        self.send("_sync|" + token)
        return self.until("_sync " + token)


# A command that echoes a token back: tests use it to know that every
# earlier line has been handled, instead of sleeping.
SYNC_PLUGIN = """
chat.command("_sync", "", function(user, args)
    user:send("_sync " .. tostring(args))
end)
"""


def main():
    unittest.main(verbosity=2)
