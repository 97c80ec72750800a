"""The one harness of chatd's Python tests.

Python 3 standard library only.  Every test imports it the same way,
"import chatdtest as ct", with tests/lib on PYTHONPATH (make check,
make memcheck and make soak set it; by hand: PYTHONPATH=tests/lib).  The
tests start the real binary (env CHATD, else the chatd at the top of the
build) on a temporary config that listens on 127.0.0.1 port 0, read the
real port from the log line "listening on ADDR:PORT", and talk to it over
loopback sockets.

Every wait is bounded; a failed wait raises AssertionError naming what was
received.  Temporary files go under tempfile.mkdtemp() only, so the tests
work from a read-only VPATH source tree and may run in parallel.

Server(config={section: {key: value}}, plugins={file.lua: source}) is a
context manager: .port .pid .log_text() .mark() .wait_log(rx, after=)
.signal(sig) .reload() .upgrade() .write_config() .wait_exit(t) .stop()
.rss_kb() .client() .room(n); with a [tls] port, .tls_port and .tls_client().
Client(port, tls=ssl_context) has send() sendline() ask() line()
expect() expect_match() expect_lines() read_until() lines_until()
expect_closed() no_line() drain() join() sync() abort(); .name is the peer
address the server names it by.  With a [metrics] port, Server.scrape()
and .metrics() read GET /metrics (http(), parse_metrics(),
promtool_check()).  run_chatd(args) runs the binary to
completion (CLI and config checks).

Layers for the other test folders, in this same module:
- PluginServer and run_check() (tests/plugin): a plugin directory of the
  test's own, sanitizer reports and the exit status checked at stop;
- ContribServer and check_config() (tests/contrib): the contrib plugins
  by name, users joined under chosen names;
- run_chatc(), spawn_chatc(), finish(), FakeServer and Tmux (tests/chatc):
  chatc on pipes, against a scripted server, or in a private tmux;
- TestCA (TLS tests): a CA and certificates made by `openssl req` at test
  time, with tls_section() and client_context() to use them.

Importing this module arms a watchdog (env CHATD_TEST_TIMEOUT, default 120
seconds; arm_watchdog() sets another default) that ends the test process,
so a test file always stops by itself; servers it started die with it
(PR_SET_PDEATHSIG), and at exit any server still running is terminated by
its PID.
"""

import atexit
import ctypes
import faulthandler
import itertools
import os
import re
import select
import shutil
import signal
import socket
import ssl
import struct
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
SRCDIR = os.environ.get("CHATD_SRCDIR") or os.path.normpath(
    os.path.join(HERE, "..", ".."))

DEFAULT_TIMEOUT = 5.0
START_TIMEOUT = 10.0
KEEP = bool(os.environ.get("CHATD_KEEP"))  # keep temp dirs for debugging


def arm_watchdog(default):
    """(Re)arm the watchdog that ends this test process after env
    CHATD_TEST_TIMEOUT seconds, else `default` (0: none).  A later call
    replaces the earlier one.  Returns the timeout in seconds."""
    global WATCHDOG
    WATCHDOG = float(os.environ.get("CHATD_TEST_TIMEOUT", str(default)))
    if WATCHDOG > 0:
        faulthandler.dump_traceback_later(WATCHDOG, exit=True)
    else:
        faulthandler.cancel_dump_traceback_later()
    return WATCHDOG


arm_watchdog(120)

LISTEN_RE = re.compile(r"listening on (\S+):(\d+)")
TLS_LISTEN_RE = re.compile(r"listening on (\S+):(\d+) \(tls")

_live_servers = []
_clients = []  # every Client, closed when its server is killed
_tempdirs = []


def _cleanup():
    # Servers first, then their directories.
    for srv in list(_live_servers):
        try:
            srv.kill()
        except Exception:
            pass
    if not KEEP:
        for d in _tempdirs:
            shutil.rmtree(d, True)


atexit.register(_cleanup)


def _on_sigterm(signum, frame):
    # Unwind (context managers stop their servers; unittest lets only
    # KeyboardInterrupt through), then atexit cleans up.
    raise KeyboardInterrupt("SIGTERM")


if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_sigterm)


def _pdeathsig():
    """preexec_fn: the child gets SIGKILL when this test process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def mkdtemp(prefix="chatd-test-"):
    """A private temp dir, removed at exit (kept with CHATD_KEEP=1)."""
    d = tempfile.mkdtemp(prefix=prefix)
    _tempdirs.append(d)
    return d


def rss_kb(pid):
    """Resident set size of a process in kB, from /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def _hexaddr(h):
    """An address of /proc/net/tcp{,6}: hex words in host byte order."""
    raw = bytes.fromhex(h)
    words = [raw[i:i + 4][::-1] for i in range(0, len(raw), 4)]
    packed = b"".join(words)
    if len(packed) == 4:
        return socket.inet_ntop(socket.AF_INET, packed)
    if packed[:12] == b"\0" * 10 + b"\xff\xff":
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    return socket.inet_ntop(socket.AF_INET6, packed)


def kernel_sockets(port):
    """The kernel's TCP sockets whose local port is `port`, listeners
    left out, orphans (closed by their process) included: a list of
    (peer address, peer port, state, bytes in the send queue), from
    /proc/net/tcp and tcp6 (state as its hex code: 01 established, 04
    FIN_WAIT1, 06 TIME_WAIT, 0A LISTEN)."""
    out = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            lport = int(f[1].rsplit(":", 1)[1], 16)
            if lport != port or f[3] == "0A":
                continue
            raddr, rport = f[2].rsplit(":", 1)
            out.append((_hexaddr(raddr), int(rport, 16), f[3],
                        int(f[4].split(":")[0], 16)))
    return out


def sockstat_tcp_kb():
    """The host's TCP memory in KiB ("mem", in pages, of the TCP line of
    /proc/net/sockstat): every socket of the machine, so a figure to
    report, not to assert on a shared host."""
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                f = line.split()
                return int(f[f.index("mem") + 1]) * os.sysconf(
                    "SC_PAGE_SIZE") // 1024
    return 0


def name_key(name):
    """The key chatd compares names by (name.c: NFKC case fold, UTS #39
    skeleton, i as l), for the ASCII names tests use: the names Redis
    holds in a cluster.  Among ASCII letters and digits the skeleton
    changes only 0 (O), 1 and I (l) and m (rn); a default name (with a
    ':') is its own key."""
    if not name.isascii():
        raise ValueError("name_key: ASCII names only")
    if ":" in name:
        return name
    out = name.lower()
    for a, b in (("0", "o"), ("1", "l"), ("i", "l"), ("m", "rn")):
        out = out.replace(a, b)
    return out


def format_ini(sections):
    """sections: {section: {key: value}} -> INI text (order kept)."""
    out = []
    for sec, keys in sections.items():
        out.append("[%s]" % sec)
        for k, v in keys.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            out.append("%s = %s" % (k, v))
        out.append("")
    return "\n".join(out)


def merge_config(base, overrides):
    cfg = {}
    for sec, keys in base.items():
        cfg[sec] = dict(keys)
    for sec, keys in (overrides or {}).items():
        cfg.setdefault(sec, {})
        for k, v in keys.items():
            if v is None:
                cfg[sec].pop(k, None)
            else:
                cfg[sec][k] = v
    return {s: k for s, k in cfg.items() if k}


def make_plugin_dir(extra=None, base=None, dirpath=None):
    """A temp dir with copies of the *.lua of CHATD_PLUGINS plus `extra`
    ({filename: source}).  Returns its path."""
    d = dirpath or os.path.join(mkdtemp(), "plugins")
    os.makedirs(d, exist_ok=True)
    base = PLUGINS if base is None else base
    if base:
        for name in sorted(os.listdir(base)):
            if name.endswith(".lua"):
                shutil.copy(os.path.join(base, name), os.path.join(d, name))
    for name, src in (extra or {}).items():
        with open(os.path.join(d, name), "w") as f:
            f.write(src)
    return d


def run_chatd(args, timeout=10, cwd=None):
    """Run chatd to completion; returns subprocess.CompletedProcess with
    text stdout and stderr."""
    try:
        return subprocess.run([CHATD] + list(args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, cwd=cwd, text=True,
                              errors="replace", preexec_fn=_pdeathsig)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("chatd %s did not exit within %ss; stdout %r "
                             "stderr %r" % (" ".join(args), timeout,
                                            e.stdout, e.stderr))


def subreaper():
    """Make this test process the parent of orphans (PR_SET_CHILD_SUBREAPER),
    so that the new chatd of an upgrade, whose parent (the old chatd)
    exits, can be waited for here."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:
        raise AssertionError("prctl(PR_SET_CHILD_SUBREAPER) failed")


def need(program, package=None):
    """The path of a program a test needs.  Without it the test fails,
    naming the Debian package; it never skips (CI installs it)."""
    path = shutil.which(program)
    if path is None:
        raise AssertionError("%s is not installed (Debian: apt-get install "
                             "%s); this test needs it"
                             % (program, package or program))
    return path


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


# ---- the HTTP door and its metrics ----------------------------------------

METRICS_RE = re.compile(r"serving metrics at http://(\S+):(\d+)/metrics")
METRICS_SAMPLE_RE = re.compile(
    r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def http(host, port, request, timeout=DEFAULT_TIMEOUT, tls=None):
    """Send raw request bytes, read the response to EOF: (status,
    headers dict with lower-case names, body bytes).  The status line
    must be HTTP/1.1's and the body as long as Content-Length says.
    tls: an ssl.SSLContext to send it over https."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        if tls is not None:
            s = tls.wrap_socket(s, server_hostname="localhost")
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.fullmatch(r"HTTP/1\.1 (\d{3}) .+", lines[0])
    if not m:
        raise AssertionError("bad status line %r" % lines[0])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers and request.split(b" ")[0] != b"HEAD":
        if int(headers["content-length"]) != len(body):
            raise AssertionError("Content-Length %s, body %d bytes"
                                 % (headers["content-length"], len(body)))
    return int(m.group(1)), headers, body


def parse_metrics(text):
    """Prometheus text -> {(name, labels): float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRICS_SAMPLE_RE.match(line)
        if not m:
            raise AssertionError("not a sample line: %r" % line)
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def promtool_check(text):
    """promtool check metrics on text: (exit status, its output)."""
    promtool = need("promtool", "prometheus")
    r = subprocess.run([promtool, "check", "metrics"], input=text,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=30)
    return r.returncode, r.stdout


class Server:
    """A running chatd on a temporary config.

    config: {section: {key: value}} merged over the defaults
      [server] bind = 127.0.0.1, port = 0
      [limits] lines_per_second = 0, bytes_per_second = 0   (floods are
               not throttled), max_per_ip = 0, connects_per_second = 0
               (every test connects from 127.0.0.1)
      [log] repeats = 0   (tests wait for log lines of every client)
      [server] show_addresses = true   (a client's name is its address)
      [lua]    path = CHATD_PLUGINS
    A value of None removes a default key.  plugins: {filename: source}
    adds Lua files to a temp copy of CHATD_PLUGINS used as [lua] path
    (.plugin_dir); plugin_base copies another directory's *.lua instead
    ("" for none: only `plugins`).  Either one makes that directory.
    config_text: the whole file instead; config_file: an existing file.
    rlimits: {resource.RLIMIT_*: (soft, hard)} set in the child before exec.
    binary: the chatd to run (default CHATD); an upgrade starts the file
    at that path again, so a test that installs a new binary there uses
    a copy of its own (install_binary()).
    ca: a TestCA; the server gets a [tls] listener with its certificate
    (the config's [tls] keys over it), reached with tls_client().
    ready: "log" (wait for the listening line), "connect" (probe the
    configured port) or None (return at once, for startup tests).
    """

    DEFAULTS = {
        "server": {"bind": "127.0.0.1", "port": 0, "show_addresses": True},
        "limits": {"lines_per_second": 0, "bytes_per_second": 0,
                   "max_per_ip": 0, "connects_per_second": 0},
        "lua": {"path": PLUGINS},
        "log": {"repeats": 0},
    }

    def __init__(self, config=None, plugins=None, cwd=None,
                 start_timeout=START_TIMEOUT, config_text=None,
                 config_file=None, ready="log", rlimits=None,
                 plugin_base=None, binary=None, ca=None):
        self.dir = mkdtemp()
        self.binary = binary or CHATD
        self.upgraded_pid = None  # the process that took over, if any
        self.upgraded_status = None
        self.rlimits = rlimits or {}
        self.ca = ca
        if ca is not None:	# a TLS listener with ca's certificate
            config = merge_config({"tls": ca.tls_section()}, config)
        cfg = merge_config(self.DEFAULTS, config)
        self.plugin_dir = None
        if plugins or plugin_base is not None:
            self.plugin_dir = make_plugin_dir(
                plugins, base=plugin_base,
                dirpath=os.path.join(self.dir, "plugins"))
            cfg.setdefault("lua", {})
            cfg["lua"]["path"] = self.plugin_dir
        self.config = cfg
        if config_file is not None:
            self.config_path = config_file  # used as is
        else:
            self.config_path = os.path.join(self.dir, "chatd.ini")
            write_file(self.config_path, config_text
                       if config_text is not None else format_ini(cfg))
        self.log_path = os.path.join(self.dir, "chatd.log")
        self.out_path = os.path.join(self.dir, "chatd.out")
        self.cwd = cwd or self.dir
        self.start_timeout = start_timeout
        self.ready = ready
        self.proc = None
        self.port = None
        self.tls_port = None
        self.host = None
        self.returncode = None

    def write_config(self, config=None):
        """Write .config (after replacing it with `config`, if given) to
        the config file again, e.g. before reload()."""
        if config is not None:
            self.config = config
        write_file(self.config_path, format_ini(self.config))

    # -- lifecycle -----------------------------------------------------
    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise AssertionError("chatd binary not found at %s (set CHATD)"
                                 % self.binary)
        self._log = open(self.log_path, "wb")
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "-c", self.config_path], stdin=subprocess.DEVNULL,
            stdout=self._out, stderr=self._log, cwd=self.cwd,
            preexec_fn=self._preexec)
        _live_servers.append(self)
        if self.ready is None:
            return self  # the caller watches the log itself
        if self.ready == "connect":
            # The log may hide the listening line (level = error): connect
            # to the configured port until it answers.
            self.listen_addr = str(self.config["server"]["bind"])
            self.port = int(self.config["server"]["port"])
            self._wait_connect()
        else:
            m = self.wait_log(LISTEN_RE, self.start_timeout)
            self.listen_addr = m.group(1)
            self.port = int(m.group(2))
            if str(self.config.get("tls", {}).get("port", "off")) != "off":
                self.tls_port = int(self.wait_log(
                    TLS_LISTEN_RE, self.start_timeout).group(2))
        host = self.listen_addr
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if host in ("0.0.0.0", "*", ""):
            host = "127.0.0.1"
        if host == "::":
            host = "::1"
        self.host = host
        return self

    def _preexec(self):
        _pdeathsig()
        if self.rlimits:
            import resource
            for res, lim in self.rlimits.items():
                resource.setrlimit(res, lim)

    def _wait_connect(self):
        host = self.listen_addr.strip("[]")
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("chatd exited (status %s); log:\n%s"
                                     % (self.proc.returncode,
                                        self.log_text()[-4000:]))
            try:
                probe = Client(self.port, host=host)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("chatd not accepting on %s:%d; "
                                         "log:\n%s" % (host, self.port,
                                                        self.log_text()))
                time.sleep(0.05)
        # The server answers.  The probe joins and leaves, waiting for its
        # close, so no notice of it reaches the test's clients.
        try:
            probe.join()
            probe.sendline("exit")
            probe.read_until("* bye")
            probe.expect_closed()
        finally:
            probe.close()

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.kill()
            raise

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self.proc is not None:
            sys.stderr.write("---- chatd log (%s) ----\n%s\n---- end log ----\n"
                             % (self.log_path, self.log_text()[-6000:]))
        self.kill()
        return False

    @property
    def pid(self):
        """The serving process: after an upgrade, the one that took over."""
        return self.upgraded_pid or self.proc.pid

    def _upgraded_alive(self):
        if self.upgraded_status is not None:
            return False
        try:
            pid, status = os.waitpid(self.upgraded_pid, os.WNOHANG)
        except ChildProcessError:
            try:
                os.kill(self.upgraded_pid, 0)
            except ProcessLookupError:
                self.upgraded_status = -1
                return False
            return True
        if pid == 0:
            return True
        self.upgraded_status = os.waitstatus_to_exitcode(status)
        return False

    def alive(self):
        if self.upgraded_pid is not None:
            return self._upgraded_alive()
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def install_binary(self, source):
        """Put a copy of `source` (a file) at .binary, as a package would:
        written aside, then renamed over the running one."""
        tmp = self.binary + ".new"
        shutil.copy(source, tmp)
        os.chmod(tmp, 0o755)
        os.rename(tmp, self.binary)

    def upgrade(self, timeout=START_TIMEOUT, during=None):
        """SIGUSR2 (then during(), if given), and wait for the hand-over or
        its failure logged after it.  On success the old process has
        exited and .pid is the new one.  Returns (True if handed over,
        that log line)."""
        subreaper()
        m0 = self.mark()
        old = self.pid
        self.signal(signal.SIGUSR2)
        if during is not None:
            during()
        m = self.wait_log(r"[^\n]*(handed to pid (\d+)|upgrade failed)"
                          r"[^\n]*", timeout, m0)
        if m.group(2) is None:
            return False, m.group(0)
        new = int(m.group(2))
        if self.upgraded_pid is None:
            self.old_status = self.proc.wait(timeout)
        else:
            deadline = time.monotonic() + timeout
            while self._upgraded_alive():
                if time.monotonic() > deadline:
                    raise AssertionError("old chatd (pid %d) did not exit"
                                         % old)
                time.sleep(0.02)
            self.old_status = self.upgraded_status
        self.upgraded_pid = new
        self.upgraded_status = None
        return True, m.group(0)

    def wait_exit(self, timeout=DEFAULT_TIMEOUT):
        """Wait for the process to exit; returns its status or raises."""
        if self.upgraded_pid is not None:
            deadline = time.monotonic() + timeout
            while self._upgraded_alive():
                if time.monotonic() > deadline:
                    raise AssertionError("chatd (pid %d) still running "
                                         "after %.1fs" % (self.pid, timeout))
                time.sleep(0.02)
            self.returncode = self.upgraded_status
            return self.returncode
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("chatd (pid %d) still running after %.1fs"
                                 % (self.proc.pid, timeout))
        return self.returncode

    def stop(self, timeout=8.0, close_clients=True):
        """SIGTERM, wait bounded, then SIGKILL its own PID.  Returns the
        exit status (negative: killed by that signal).  close_clients:
        first close this harness's clients of the server, since chatd may
        linger up to 5 s for clients that keep their end open (the
        shutdown tests use signal() and wait_exit() instead)."""
        return self._terminate(timeout, close_clients)

    def _terminate(self, timeout, close_clients=True):
        # stop() itself; kill() calls this, so that a subclass may give
        # stop() checks of its own.
        if self.proc is None:
            return None
        if close_clients:
            self.close_clients()
        if self.upgraded_pid is not None:
            if self.alive():
                os.kill(self.pid, signal.SIGTERM)
                try:
                    self.wait_exit(timeout)
                except AssertionError:
                    os.kill(self.pid, signal.SIGKILL)
                    self.wait_exit(5)
            self.returncode = self.upgraded_status
            self._close_files()
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.returncode = self.proc.returncode
        self._close_files()
        return self.returncode

    def close_clients(self):
        """Close every harness Client connected to this server."""
        for c in list(_clients):
            if c.port in (self.port, self.tls_port):
                c.close()

    def kill(self):
        """Terminate our own process (TERM, then KILL) and forget it."""
        if self.proc is not None:
            try:
                self._terminate(8)
            except Exception:
                try:
                    self.proc.kill()
                except Exception:
                    pass
        if self in _live_servers:
            _live_servers.remove(self)
        self.close_clients()

    def _close_files(self):
        for f in (getattr(self, "_log", None), getattr(self, "_out", None)):
            if f is not None and not f.closed:
                f.close()

    # -- log -----------------------------------------------------------
    def listener_port(self, kind, timeout=DEFAULT_TIMEOUT):
        """The port of the listener the log names "(kind": websocket,
        metrics."""
        m = self.wait_log(r"listening on \S+:(\d+) \(%s" % re.escape(kind),
                          timeout)
        return int(m.group(1))

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout_text(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def mark(self):
        """A position in the log: wait_log(after=mark) looks past it."""
        return len(self.log_text())

    def wait_log(self, regex, timeout=DEFAULT_TIMEOUT, after=0):
        """Wait until the log (from position `after`, see mark()) matches
        regex; returns the match object."""
        rx = re.compile(regex) if isinstance(regex, str) else regex
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            m = rx.search(text, after)
            if m:
                return m
            if not self.alive():
                raise AssertionError(
                    "chatd exited (status %s) before logging %r; log:\n%s"
                    % (self.upgraded_status if self.upgraded_pid
                       else self.proc.returncode, rx.pattern, text[-4000:]))
            if time.monotonic() > deadline:
                raise AssertionError("log did not match %r within %.1fs; log:\n%s"
                                     % (rx.pattern, timeout, text[-4000:]))
            time.sleep(0.05)

    def reload(self, timeout=DEFAULT_TIMEOUT):
        """SIGHUP, then wait for "reload done" or "reload failed" logged
        after it.  Returns (True if done, that log line)."""
        m0 = self.mark()
        self.signal(signal.SIGHUP)
        m = self.wait_log(r"[^\n]*reload (done|failed)[^\n]*", timeout, m0)
        return m.group(1) == "done", m.group(0)

    def rss_kb(self):
        return rss_kb(self.pid)

    # -- metrics (a [metrics] port in the config) ----------------------
    def metrics_addr(self):
        """(host, port) of the GET /metrics listener, from the log."""
        m = self.wait_log(METRICS_RE)
        return m.group(1), int(m.group(2))

    def scrape(self):
        """GET /metrics: the text, checked for status and content type."""
        host, port = self.metrics_addr()
        status, headers, body = http(
            host, port, b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        if status != 200:
            raise AssertionError("scrape: %d %r" % (status, body))
        if headers.get("content-type") != \
                "text/plain; version=0.0.4; charset=utf-8":
            raise AssertionError("content type %r"
                                 % headers.get("content-type"))
        return body.decode("utf-8")

    def metrics(self):
        """The scrape parsed: {(name, labels): float}."""
        return parse_metrics(self.scrape())

    # -- clients -------------------------------------------------------
    def client(self, join=True, **kw):
        """Connect a Client; with join=True, read its welcome and online
        lines (kept in .welcome and .online)."""
        kw.setdefault("host", self.host)
        c = Client(kw.pop("port", self.port), **kw)
        if join:
            c.join()
        return c

    def tls_client(self, join=True, context=None, **kw):
        """client() over TLS to .tls_port; context: an ssl.SSLContext
        (default: one trusting the TestCA whose tls_section() the server
        was given, as .ca)."""
        if context is None:
            context = self.ca.client_context()
        return self.client(join=join, port=self.tls_port, tls=context,
                           **kw)

    def room(self, n, **kw):
        """Connect n clients in order; every earlier one sees the joins."""
        clients = []
        for _ in range(n):
            c = self.client(**kw)
            for o in clients:
                o.expect("* %s joined" % c.name)
            clients.append(c)
        return clients


def sockname(sock):
    """The peer-address name the server gives this socket: ip:port or
    [ip6]:port."""
    addr = sock.getsockname()
    if sock.family == socket.AF_INET6:
        return "[%s]:%d" % (addr[0], addr[1])
    return "%s:%d" % (addr[0], addr[1])


class Client:
    """A line client over loopback.  Server lines must end in CRLF and be
    UTF-8: anything else fails the test."""

    def __init__(self, port, host="127.0.0.1", rcvbuf=None, source=None,
                 timeout=DEFAULT_TIMEOUT, nodelay=True, tls=None,
                 server_hostname="localhost"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if nodelay:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source is not None:	# an address, or (address, port)
            self.sock.bind(source if isinstance(source, tuple)
                           else (source, 0))
        self.sock.settimeout(timeout)
        _clients.append(self)
        self.port = port
        try:
            self.sock.connect((host, port))
            if tls is not None:	# an ssl.SSLContext: handshake now
                self.sock = tls.wrap_socket(self.sock,
                                            server_hostname=server_hostname)
        except OSError:
            self.close()
            raise
        self.timeout = timeout
        self.name = sockname(self.sock)
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.reset = False
        self.tls_error = None  # the ssl.SSLError that ended the input
        self.history = []  # every line received
        self.welcome = None
        self.online = None

    # -- output --------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise AssertionError("%s: send of %d bytes timed out"
                                 % (self.name, len(data)))

    def sendline(self, text, eol=b"\n"):
        if isinstance(text, str):
            text = text.encode("utf-8")
        self.send(text + eol)

    def ask(self, line, *want, timeout=None):
        """Send a line.  With `want`, expect exactly those lines back, in
        order; without, return the next line received."""
        self.sendline(line)
        if not want:
            return self.line(timeout)
        for w in want:
            self.expect(w, timeout)
        return None

    def sync(self, token="sync"):
        """Round trip through the "_sync" command of SYNC_PLUGIN: every
        line sent before has been handled when this returns."""
        self.sendline("_sync|" + token)
        return self.read_until("_sync " + token)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        if self in _clients:
            _clients.remove(self)

    def abort(self):
        """Close with a RST (SO_LINGER 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        self.close()

    # -- input ---------------------------------------------------------
    def _fill(self, deadline):
        """Read once if data arrives before deadline.  False on timeout."""
        if self.eof:
            return True
        remaining = deadline - time.monotonic()
        if remaining < 0:
            remaining = 0
        # Records TLS has decoded already wait where select cannot see.
        if not self._tls_pending():
            r, _, _ = select.select([self.sock], [], [], remaining)
            if not r:
                return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            self.eof = self.reset = True
            return True
        except ssl.SSLError as e:	# a TLS alert, a bad record
            self.eof = True
            self.tls_error = e
            return True
        except (socket.timeout, BlockingIOError):
            return True
        if not data:
            self.eof = True
        else:
            self._received(data)
        return True

    def _received(self, data):
        """Bytes from the socket: here they are the lines' bytes."""
        self.buf = self.buf[self.pos:] + data
        self.pos = 0

    def _recent(self, n=8):
        return "last lines %r; partial %r%s" % (
            [l[:200] for l in self.history[-n:]], self.pending[:300],
            " (connection closed%s)" % (" by reset" if self.reset else "")
            if self.eof else "")

    def _take_line(self):
        i = self.buf.find(b"\n", self.pos)
        if i < 0:
            return None
        raw = self.buf[self.pos:i + 1]
        self.pos = i + 1
        if raw.endswith(b"\r\n"):
            body = raw[:-2]
        else:
            raise AssertionError("%s: server line not ending in CRLF: %r"
                                 % (self.name, raw))
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError("%s: server line is not UTF-8: %r"
                                 % (self.name, raw))
        self.history.append(text)
        if len(self.history) > 1000:
            del self.history[:500]
        return text

    def _tls_pending(self):
        return isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()

    @property
    def pending(self):
        """Bytes received but not yet returned as lines."""
        return self.buf[self.pos:]

    def line(self, timeout=None):
        """One server line without its CRLF."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            text = self._take_line()
            if text is not None:
                return text
            if self.eof:
                raise AssertionError("%s: connection closed while waiting "
                                     "for a line; %s"
                                     % (self.name, self._recent()))
            if not self._fill(deadline):
                raise AssertionError("%s: no line within %.1fs; %s"
                                     % (self.name, timeout, self._recent()))

    def expect(self, exact, timeout=None):
        got = self.line(timeout)
        if got != exact:
            raise AssertionError("%s: expected %r, got %r; %s"
                                 % (self.name, exact, got, self._recent()))
        return got

    def expect_match(self, regex, timeout=None):
        """The next line must match regex as a whole; returns the match."""
        got = self.line(timeout)
        m = re.fullmatch(regex, got)
        if not m:
            raise AssertionError("%s: expected a line matching %r, got %r"
                                 % (self.name, regex, got))
        return m

    def expect_lines(self, lines, timeout=None):
        for want in lines:
            self.expect(want, timeout)

    def read_until(self, pred, timeout=None):
        """Lines up to and including the first for which pred(line) (or,
        for a str, line == pred) holds; all within timeout."""
        if isinstance(pred, str):
            want = pred
            pred = lambda l: l == want  # noqa: E731
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        got = []
        while True:
            remaining = deadline - time.monotonic()
            try:
                l = self.line(max(remaining, 0))
            except AssertionError as e:
                raise AssertionError("read_until: condition not met; read "
                                     "%d lines, last %r: %s"
                                     % (len(got), got[-5:], e))
            got.append(l)
            if pred(l):
                return got

    def lines_until(self, want, timeout=None):
        """The lines before the line `want`, which is read too."""
        return self.read_until(want, timeout)[:-1]

    def expect_closed(self, timeout=None, partial_ok=False):
        """Read until the server closes, then close our end too; returns
        the lines still unread.  partial_ok: a last line cut short is
        allowed (kept in .pending)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            l = self._take_line()
            if l is not None:
                lines.append(l)
                continue
            if self.eof:
                if self.pending and not partial_ok:
                    raise AssertionError("%s: closed with a partial line %r"
                                         % (self.name, self.pending[:300]))
                self.close()  # as a client does at EOF
                return lines
            if not self._fill(deadline):
                raise AssertionError("%s: not closed within %.1fs; read %r; %s"
                                     % (self.name, timeout, lines[-5:],
                                        self._recent()))

    def no_line(self, within=0.5, allow_eof=False):
        """Assert no complete line (and no EOF) arrives within `within`."""
        deadline = time.monotonic() + within
        while True:
            l = self._take_line()
            if l is not None:
                raise AssertionError("%s: expected nothing, got %r"
                                     % (self.name, l))
            if self.eof and not allow_eof:
                raise AssertionError("%s: expected nothing, but the "
                                     "connection was closed" % self.name)
            if time.monotonic() >= deadline:
                return
            if self.eof:
                time.sleep(max(0, deadline - time.monotonic()))
                continue
            self._fill(deadline)

    def drain(self):
        """Read whatever is already available, without waiting; returns
        the complete lines."""
        lines = []
        while True:
            r, _, _ = select.select([self.sock], [], [], 0)
            if (not r and not self._tls_pending()) or self.eof:
                break
            self._fill(time.monotonic())
        while True:
            l = self._take_line()
            if l is None:
                return lines
            lines.append(l)

    def join(self, timeout=None, guest=False):
        """Read `* welcome NAME` and `* online (N): ...`: every name, the
        newcomer's last, or in a room of more than [room] online_names the
        first few and `and K more; type who to list them`.  The names go
        to .online, N to .online_count.  guest: the server hides
        addresses ([server] show_addresses = false), so NAME is guest:ID,
        which becomes .name.  Otherwise NAME is the client's address, or
        ADDRESS#ID while a user who had that address and port has not
        left yet (the kernel reused the port before the server read the
        old connection's end), which becomes .name."""
        if guest:
            m = self.expect_match(r"\* welcome (guest:\d+)", timeout)
        else:
            m = self.expect_match(r"\* welcome (%s(?:#\d+)?)"
                                  % re.escape(self.name), timeout)
        self.welcome, self.name = m.group(0), m.group(1)
        m = self.expect_match(r"\* online \((\d+)\): (.*)", timeout)
        count, text = int(m.group(1)), m.group(2)
        more = re.fullmatch(r"(?:(.*) and |)(\d+) more; type who to list "
                            r"them", text)
        if more:
            names = more.group(1).split(", ") if more.group(1) else []
            ok = len(names) + int(more.group(2)) == count
        else:
            names = text.split(", ")
            ok = count == len(names) and names[-1] == self.name
        if not ok:
            raise AssertionError("%s: bad online line %r"
                                 % (self.name, m.group(0)))
        self.online = names
        self.online_count = count
        return names

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


class TestCA:
    """A private CA made at test time with `openssl req` (no key is ever
    committed), and the certificates it signs, in a temp dir.

    cert(name, cn, ecdsa=True) makes name.pem and name.key signed by the
    CA for the host names localhost and 127.0.0.1 (cn: the subject);
    .path is the CA's certificate; tls_section(name) is the [tls] config
    for that certificate; client_context() an ssl.SSLContext trusting it.
    """

    def __init__(self, name="chatd test CA"):
        self.openssl = need("openssl", "openssl")
        self.dir = mkdtemp("chatd-ca-")
        self.path = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca.key")
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                  "-subj", "/CN=" + name, "-keyout", self.key,
                  "-out", self.path, "-addext",
                  "basicConstraints=critical,CA:TRUE", "-addext",
                  "keyUsage=critical,keyCertSign,cRLSign")
        self.serial = itertools.count(1)

    def _run(self, *args):
        r = subprocess.run([self.openssl] + list(args), cwd=self.dir,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise AssertionError("openssl %s failed:\n%s"
                                 % (" ".join(args), r.stdout.decode()))

    def cert(self, name="server", cn="localhost", ecdsa=True,
             client=False, extra=""):
        """Make name.pem and name.key; returns (cert path, key path).
        extra: more extension lines for openssl x509 -extfile."""
        cert = os.path.join(self.dir, name + ".pem")
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        ext = os.path.join(self.dir, name + ".ext")
        write_file(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   "extendedKeyUsage=%s\n"
                   % ("clientAuth" if client else "serverAuth") + extra)
        newkey = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
                  if ecdsa else ["-newkey", "rsa:2048"])
        self._run("req", *newkey, "-nodes", "-subj", "/CN=" + cn,
                  "-keyout", key, "-out", csr)
        self._run("x509", "-req", "-in", csr, "-CA", self.path, "-CAkey",
                  self.key, "-set_serial", str(next(self.serial)),
                  "-days", "2", "-extfile", ext, "-out", cert)
        return cert, key

    def tls_section(self, name="server", **keys):
        """The [tls] keys for certificate `name` (made if missing), on
        127.0.0.1 port 0, with keys added."""
        cert = os.path.join(self.dir, name + ".pem")
        key = os.path.join(self.dir, name + ".key")
        if not os.path.exists(cert):
            self.cert(name)
        sec = {"bind": "127.0.0.1", "port": 0, "cert": cert, "key": key}
        sec.update(keys)
        return sec

    def client_context(self, cert=None):
        """An ssl.SSLContext that verifies the server against this CA;
        cert: (cert, key) to show as a client certificate."""
        ctx = ssl.create_default_context(cafile=self.path)
        if cert is not None:
            ctx.load_cert_chain(*cert)
        return ctx


WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """One WebSocket frame as a client sends it (masked unless mask is
    False); length overrides the length field."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if mask else 0
    if n <= 125:
        head += bytes([mbit | n])
    elif n <= 0xffff:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def ws_request(path="/ws", host="127.0.0.1", key=None, origin=None,
               extra=None, version="13"):
    """The bytes of an upgrade request; extra: {field: value}."""
    import base64
    key = key or base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host,
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: %s" % key]
    if version is not None:
        lines.append("Sec-WebSocket-Version: %s" % version)
    if origin is not None:
        lines.append("Origin: %s" % origin)
    for k, v in (extra or {}).items():
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key


def ws_accept(key):
    import base64
    import hashlib
    return base64.b64encode(hashlib.sha1(
        (key + WS_GUID).encode()).digest()).decode()


class WsClient(Client):
    """A chat client over WebSocket (RFC 6455), standard library only, so
    that a test can also send what no library would: each text message
    from the server is one line (given CRLF, so Client's strict reading
    applies); sendline() sends a line as one text message.  .closes holds
    the close frames received as (code, reason), .pongs the pong payloads.
    The upgrade is done at once unless upgrade=False; request= sends other
    bytes instead of the usual request.  tls: an ssl.SSLContext to speak
    wss:// (the TLS handshake is done before the upgrade)."""

    def __init__(self, port, host="127.0.0.1", path="/ws", origin=None,
                 extra=None, upgrade=True, timeout=DEFAULT_TIMEOUT,
                 tls=None, **kw):
        Client.__init__(self, port, host=host, timeout=timeout, tls=tls,
                        **kw)
        self.raw = b""
        self.closes = []
        self.pongs = []
        self.frames = []  # (opcode, payload) of every frame received
        self.upgraded = False
        self.msg = None  # a fragmented message being received
        if upgrade:
            self.upgrade(path=path, host=host, origin=origin, extra=extra)

    def upgrade(self, path="/ws", host="127.0.0.1", origin=None, extra=None,
                timeout=None):
        req, key = ws_request(path=path, host=host, origin=origin,
                              extra=extra)
        self.sock.sendall(req)
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.raw:
            r = self._tls_pending() or select.select(
                [self.sock], [], [], max(0, deadline - time.monotonic()))[0]
            if not r:
                raise AssertionError("%s: no answer to the upgrade"
                                     % self.name)
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError("%s: closed during the upgrade: %r"
                                     % (self.name, self.raw))
            self.raw += data
        head, _, self.raw = self.raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101 "):
            raise AssertionError("%s: upgrade refused: %r"
                                 % (self.name, head))
        fields = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            fields[k.strip().lower()] = v.strip()
        if fields.get("sec-websocket-accept") != ws_accept(key):
            raise AssertionError("%s: bad Sec-WebSocket-Accept in %r"
                                 % (self.name, head))
        self.upgraded = True
        self._decode()

    def send_frame(self, opcode, payload=b"", **kw):
        self.send(ws_frame(opcode, payload, **kw))

    def sendline(self, text, eol=None):
        self.send_frame(0x1, text)

    def ping(self, payload=b"hi"):
        self.send_frame(0x9, payload)

    def send_close(self, code=1000, reason=b""):
        self.send_frame(0x8, struct.pack("!H", code) + reason
                        if code is not None else b"")

    def _decode(self):
        """Turn the whole frames in .raw into lines and control records."""
        while len(self.raw) >= 2:
            b0, b1 = self.raw[0], self.raw[1]
            if b1 & 0x80:
                raise AssertionError("%s: the server masked a frame"
                                     % self.name)
            n, off = b1 & 0x7f, 2
            if n == 126:
                if len(self.raw) < 4:
                    return
                n, off = struct.unpack("!H", self.raw[2:4])[0], 4
            elif n == 127:
                if len(self.raw) < 10:
                    return
                n, off = struct.unpack("!Q", self.raw[2:10])[0], 10
            if len(self.raw) < off + n:
                return
            payload = self.raw[off:off + n]
            self.raw = self.raw[off + n:]
            opcode = b0 & 0x0f
            self.frames.append((opcode, payload))
            if b0 & 0x70:
                raise AssertionError("%s: server frame with RSV bits"
                                     % self.name)
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] \
                    if len(payload) >= 2 else None
                self.closes.append((code, payload[2:]))
            elif opcode == 0xA:
                self.pongs.append(payload)
            elif opcode == 0x1:
                if not b0 & 0x80:
                    raise AssertionError("%s: chatd fragments its lines"
                                         % self.name)
                self.buf = self.buf[self.pos:] + payload + b"\r\n"
                self.pos = 0
            else:
                raise AssertionError("%s: unexpected opcode %d"
                                     % (self.name, opcode))

    def _received(self, data):
        """Bytes from the socket: frames, decoded into lines."""
        self.raw += data
        self._decode()

    def wait_close(self, timeout=None):
        """Read until the server's close frame and its EOF; returns the
        close code (None: closed without a close frame)."""
        self.expect_closed(timeout, partial_ok=True)
        return self.closes[0][0] if self.closes else None


def read_to_close(sock, timeout=5.0):
    """The raw bytes a socket gets until the server closes it (a reset
    too); fails if it is still open after timeout.  For what is not
    lines: a TLS alert, a WebSocket close frame, clear text refused."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        except socket.timeout:
            break
        if not chunk:
            return data
        data += chunk
    raise AssertionError("%s: not closed within %.1fs; got %r"
                         % (sockname(sock), timeout, data[:200]))


def free_port(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ipv6_available():
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def main():
    """Run the unittest cases of the calling test file."""
    unittest.main(verbosity=2)


# ---- plugin tests (tests/plugin) ------------------------------------------

SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Undefined)Sanitizer|"
                          r"runtime error:|AddressSanitizer")


def is_sanitized(path=CHATD):
    """Whether the binary was built with AddressSanitizer."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def check_sanitizer(text, what):
    """Fail on a sanitizer report in text (a log, chatd -t's stderr)."""
    m = SANITIZER_RE.search(text)
    if m:
        raise AssertionError("sanitizer report %s:\n%s"
                             % (what, text[max(0, m.start() - 200):][:6000]))


class PluginServer(Server):
    """chatd on a plugin directory of the test's own.

    plugins: {file name: Lua source}; room: copy the default plugins too;
    config: {section: {key: value}} over the defaults (None drops a key),
    which add [lua] max_instructions = 100000 and [log] level = debug.
    Stopping it checks its log for sanitizer reports and its exit status
    for 0, so the plugin tests double as ASan/UBSan runs.
    """

    DEFAULTS = merge_config(Server.DEFAULTS, {
        "lua": {"max_instructions": 100000},
        "log": {"level": "debug"},
    })

    def __init__(self, plugins=None, room=True, config=None, ca=None,
                 binary=None):
        super().__init__(config=config, plugins=plugins,
                         plugin_base=PLUGINS if room else "", ca=ca,
                         binary=binary)
        self._stopped = False

    def add_plugin(self, name, src):
        write_file(self.plugin_path(name), src)

    def remove_plugin(self, name):
        os.unlink(self.plugin_path(name))

    def plugin_path(self, name):
        return os.path.join(self.plugin_dir, name)

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop(check=exc_type is None)
        finally:
            super().__exit__(exc_type, exc, tb)
        return False

    def stop(self, check=True):
        """Close our clients, SIGTERM our own child, wait bounded (then
        SIGKILL it), and check its log for sanitizer reports and its exit
        status for 0."""
        if self.proc is None or self._stopped:
            return self.returncode
        self._stopped = True
        rc = super().stop(timeout=10)
        if check:
            text = self.log_text()
            check_sanitizer(text, "in the log")
            if rc != 0:
                raise AssertionError("chatd exited with status %s; log:\n%s"
                                     % (rc, text[-4000:]))
        return rc


def run_check(plugins, room=False, config=None, timeout=10):
    """chatd -t on a config with these plugins: (CompletedProcess, the
    plugin directory)."""
    d = mkdtemp()
    pdir = make_plugin_dir(plugins, base=PLUGINS if room else "",
                           dirpath=os.path.join(d, "plugins"))
    cfg = merge_config(PluginServer.DEFAULTS, config)
    cfg["lua"]["path"] = pdir
    path = write_file(os.path.join(d, "chatd.ini"), format_ini(cfg))
    r = run_chatd(["-t", "-c", path], timeout=timeout)
    check_sanitizer(r.stderr, "from chatd -t")
    return r, pdir


# A command that echoes a token back (Client.sync): tests use it to know
# that every earlier line has been handled, instead of sleeping.
SYNC_PLUGIN = """
chat.command("_sync", "", function(user, args)
    user:send("_sync " .. tostring(args))
end)
"""


# ---- contrib plugin tests (tests/contrib) ---------------------------------

CONTRIB = os.path.join(SRCDIR, "contrib", "plugins")


def contrib_sources(plugins, extra=None):
    """{filename: source} of the contrib plugins named in `plugins`
    (without ".lua") and of the test-only plugins in extra."""
    files = {}
    for name in plugins:
        with open(os.path.join(CONTRIB, name + ".lua")) as f:
            files[name + ".lua"] = f.read()
    files.update(extra or {})
    return files


class ContribServer(PluginServer):
    """chatd with the default plugins and some contrib ones, by name.

    sections: config over the defaults, which add [server] idle_timeout =
    0; extra: test-only plugins.  join(name) keeps the joined clients in
    order in .joined, so sync() can check that each got nothing
    unexpected.
    """

    DEFAULTS = merge_config(Server.DEFAULTS, {"server": {"idle_timeout": 0}})

    def __init__(self, plugins, sections=None, extra=None):
        super().__init__(plugins=contrib_sources(plugins, extra), room=True,
                         config=sections)
        self.joined = []

    def rewrite_config(self, sections=None):
        """Write the config again, with other plugin sections."""
        cfg = merge_config(self.DEFAULTS, sections)
        cfg["lua"]["path"] = self.plugin_dir
        self.write_config(cfg)

    def join(self, name, greeting=()):
        """Connect, read the welcome, the online list and the greeting
        lines given, rename to name, and let the clients already joined
        read the join and rename notices.  Returns the client."""
        c = self.client(join=False)
        first = c.expect_match(r"\* welcome (\S+)").group(1)
        c.expect_match(r"\* online \(\d+\): .*")
        for line in greeting:
            c.expect(line)
        for other in self.joined:
            other.expect("* %s joined" % first)
        c.ask("rename|" + name, "* you are now " + name)
        for other in self.joined:
            other.expect("* %s is now %s" % (first, name))
        c.name = name
        self.joined.append(c)
        return c

    def sync(self, sender=None):
        """Make every joined client read up to a marker line: proves that
        nothing was queued to it before (the server keeps order)."""
        sender = sender or self.joined[0]
        sender.sendline("sync-marker")
        for c in self.joined:
            c.expect("[%s]: sync-marker" % sender.name)


def check_config(plugins, sections=None):
    """chatd -t with these contrib plugins (by name) and config sections:
    (status, stdout, stderr)."""
    cfg = merge_config(ContribServer.DEFAULTS, sections)
    r, _ = run_check(contrib_sources(plugins), config=cfg)
    return r.returncode, r.stdout, r.stderr


# ---- clusters (tests/cluster) ---------------------------------------------

REDIS_SERVER = os.environ.get("REDIS_SERVER") or "redis-server"


class RespError(Exception):
    """An error reply from Redis."""


class Redis:
    """A small RESP2 client for the tests: command(*args) returns bytes,
    an int, a list, or None; an error reply raises RespError."""

    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout)
        self.buf = b""

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode("utf-8")
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def command(self, *args):
        self.send(*args)
        return self.reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError("Redis closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError("Redis closed the connection")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n + 2:]
        return out

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RespError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._bytes(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise AssertionError("bad RESP line %r" % line)

    def close(self):
        self.sock.close()


class RedisServer:
    """A private redis-server (Debian's) on a free loopback port, in a
    temporary directory with a config of its own: no persistence, no
    protected mode games, a log file.  config: extra "key value" lines.
    Started by start() or as a context manager, stopped by its own PID
    (stop(), kill()); restart() brings it back on the same port, empty.
    .addr is what [cluster] redis takes."""

    def __init__(self, config=None):
        self.bin = need(REDIS_SERVER, "redis-server")
        self.dir = mkdtemp("chatd-redis-")
        self.extra = list(config or [])
        self.port = None
        self.proc = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid

    def _write_config(self):
        self.conf = os.path.join(self.dir, "redis.conf")
        self.log_path = os.path.join(self.dir, "redis.log")
        lines = ["port %d" % self.port, "bind 127.0.0.1", "dir %s" % self.dir,
                 'save ""', "appendonly no", "daemonize no",
                 "logfile %s" % self.log_path, "loglevel notice",
                 "databases 1"] + self.extra
        write_file(self.conf, "\n".join(lines) + "\n")

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def start(self, timeout=START_TIMEOUT):
        for attempt in range(5):
            if self.port is None or attempt > 0:
                self.port = free_port()
            self._write_config()
            if os.path.exists(self.log_path):
                os.unlink(self.log_path)
            self.proc = subprocess.Popen([self.bin, self.conf],
                                         stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL,
                                         preexec_fn=_pdeathsig)
            _live_servers.append(self)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if "Ready to accept connections" in self.log_text():
                    return self
                if self.proc.poll() is not None:
                    break
                time.sleep(0.02)
            self.kill()
            if "Address already in use" not in self.log_text():
                break
        raise AssertionError("redis-server did not start; log:\n%s"
                             % self.log_text()[-3000:])

    def restart(self, timeout=START_TIMEOUT):
        """Start again on the same port (after stop() or kill())."""
        self._write_config()
        if os.path.exists(self.log_path):
            os.unlink(self.log_path)
        self.proc = subprocess.Popen([self.bin, self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     preexec_fn=_pdeathsig)
        _live_servers.append(self)
        deadline = time.monotonic() + timeout
        while "Ready to accept connections" not in self.log_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("redis-server did not start again; "
                                     "log:\n%s" % self.log_text()[-3000:])
            time.sleep(0.02)
        return self

    def client(self):
        return Redis(self.port)

    def command(self, *args):
        r = self.client()
        try:
            return r.command(*args)
        finally:
            r.close()

    def stop(self, timeout=8.0):
        """SIGTERM, wait bounded, then SIGKILL its own PID."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)	# if it was stopped
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self in _live_servers:
            _live_servers.remove(self)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)	# if it was stopped
            self.proc.kill()
            self.proc.wait(5)
        if self in _live_servers:
            _live_servers.remove(self)

    def signal(self, sig):
        """Send sig to this redis-server (SIGSTOP: a Redis that stalls)."""
        self.proc.send_signal(sig)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            sys.stderr.write("---- redis log ----\n%s\n---- end ----\n"
                             % self.log_text()[-3000:])
        self.stop()
        return False


UP_RE = r"cluster: in room \S+ as node (\S+):"


class ClusterNode(PluginServer):
    """chatd as one node of a room on the RedisServer redis: node id
    `node`, heartbeat 1 s and node_timeout 2 s unless `cluster` says
    otherwise, and the default room (plus `plugins`).  start() returns
    once the node is in the room (its log says so).  A node ended with
    kill9() is not checked at stop.  node None leaves the id to chatd.
    binary: as Server's."""

    def __init__(self, redis, node, cluster=None, config=None, plugins=None,
                 wait_up=True, binary=None):
        sections = {"cluster": {"redis": redis.addr, "node": node,
                                "heartbeat": 1, "node_timeout": 2}}
        sections["cluster"].update(cluster or {})
        if node is None:	# the default: host name and process id
            del sections["cluster"]["node"]
        for sec, keys in (config or {}).items():
            sections.setdefault(sec, {}).update(keys)
        super().__init__(plugins=plugins, room=True, config=sections,
                         binary=binary)
        self.node = node
        self.redis = redis
        self.wait_for_up = wait_up
        self.killed = False

    def start(self):
        super().start()
        if self.wait_for_up:
            self.wait_up()
        return self

    def wait_up(self, after=0, timeout=START_TIMEOUT):
        """Wait for the log line saying the node (again) joined the room,
        past position `after` (mark())."""
        return self.wait_log(UP_RE, timeout, after)

    def kill9(self):
        """SIGKILL, as a crash: no leave, no bye."""
        self.killed = True
        self.signal(signal.SIGKILL)
        self.wait_exit()
        self.close_clients()	# after: a close first would be a leave

    def stop(self, check=True):
        return super().stop(check=check and not self.killed)


class Cluster:
    """A RedisServer and n ClusterNodes "n1", "n2", ... of one room, as a
    context manager.  cluster/config/plugins go to every node.  join(i)
    connects a user to node i and has every user already joined (through
    this object) read its join notice, so that past it every node knows
    the newcomer.  Stopping checks every node that was not killed."""

    def __init__(self, n, cluster=None, config=None, plugins=None,
                 redis_config=None):
        self.redis = RedisServer(redis_config)
        self.n = n
        self.opts = dict(cluster=cluster, config=config, plugins=plugins)
        self.nodes = []
        self.users = []

    def start(self):
        self.redis.start()
        for i in range(self.n):
            self.add_node()
        return self

    def add_node(self, name=None, **kw):
        opts = dict(self.opts)
        opts.update(kw)
        node = ClusterNode(self.redis, name or "n%d" % (len(self.nodes) + 1),
                           **opts)
        node.start()
        self.nodes.append(node)
        return node

    def others_know(self, i, marks, what, notice=True):
        """Wait until every node but i has logged `what` (a regex) about a
        user of node i, past marks (one per node), and with notice, the
        next line from node i after it: the room's notice of the change
        (presence goes first, the notice a moment later)."""
        for j, node in enumerate(self.nodes):
            if j != i and node.alive():
                m = node.wait_log(what, after=marks[j])
                if notice:
                    node.wait_log(r"cluster: line \d+ of node %s\n"
                                  % re.escape(self.nodes[i].node),
                                  after=m.end())

    def join(self, i, name=None):
        """A user on node i (0-based), joined; with name, renamed too.
        Past it, every node knows the user (their logs say so) and every
        user joined before (through this object) has read the join (and
        the rename) notice."""
        marks = [n.mark() for n in self.nodes]
        c = self.nodes[i].client()
        self.others_know(i, marks, r"cluster: %s of node %s is here"
                         % (re.escape(c.name), self.nodes[i].node))
        for o in self.users:
            o.expect("* %s joined" % c.name)
        if name is not None:
            self.rename(i, c, name)
        self.users.append(c)
        return c

    def rename(self, i, c, name):
        """Rename c, a user of node i, and wait as join() does."""
        marks = [n.mark() for n in self.nodes]
        c.ask("rename|" + name, "* you are now " + name)
        self.others_know(i, marks, r"cluster: %s of node %s is now %s"
                         % (re.escape(c.name), self.nodes[i].node,
                            re.escape(name)))
        for o in self.users:
            if o is not c:
                o.expect("* %s is now %s" % (c.name, name))
        c.name = name

    def forget(self, c):
        """Stop expecting notices on c (it left)."""
        self.users.remove(c)

    def sync(self, clients=None):
        return sync_all(clients if clients is not None else self.users)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop(check=False)
            raise

    def stop(self, check=True):
        errors = []
        for node in self.nodes:
            try:
                node.stop(check=check)
            except AssertionError as e:
                errors.append("%s: %s" % (node.node, e))
            node.kill()
        self.redis.stop()
        if errors:
            raise AssertionError("; ".join(errors))

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for node in self.nodes:
                sys.stderr.write("---- log of node %s ----\n%s\n"
                                 % (node.node, node.log_text()[-4000:]))
            sys.stderr.write("---- redis log ----\n%s\n"
                             % self.redis.log_text()[-2000:])
        self.stop(check=exc_type is None)
        return False


def sync_all(clients, tag="sync"):
    """Each client says a marker line and every client reads up to all of
    them: past this, every node has handled everything each node sent
    before (one sender's lines arrive in order).  Returns, per client,
    the lines read before the markers."""
    markers = {}
    for i, c in enumerate(clients):
        word = "%s-%d-%d" % (tag, i, next(_counter))
        markers["[%s]: %s" % (c.name, word)] = c
        c.sendline(word)
    out = []
    for c in clients:
        want = set(markers)
        got = c.read_until(lambda l: (want.discard(l) or True) and not want)
        out.append([l for l in got if l not in markers])
    return out


# ---- chatc, the terminal client (tests/chatc) -----------------------------

# chatc is the binary next to chatd (env CHATC, else the directory of CHATD).
CHATC = os.environ.get("CHATC") or os.path.join(
    os.path.dirname(os.path.abspath(CHATD)), "chatc")

_counter = itertools.count()


def run_chatc(args, input=b"", timeout=10, env=None):
    """Run chatc on pipes; returns CompletedProcess with bytes output."""
    e = dict(os.environ)
    e.update(env or {})
    try:
        return subprocess.run([CHATC] + list(args), input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=e,
                              preexec_fn=_pdeathsig)
    except subprocess.TimeoutExpired as ex:
        raise AssertionError("chatc %s did not exit within %ss; stdout %r "
                             "stderr %r" % (" ".join(args), timeout,
                                            ex.stdout, ex.stderr))


class FakeServer:
    """A listening socket on 127.0.0.1 port 0; accept() one client."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host
                                  else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.conn = None
        self.received = b""

    @classmethod
    def v6(cls):
        return cls("::1")

    def accept(self, timeout=DEFAULT_TIMEOUT):
        """Accept chatc and read the "help" it sends first (closing with
        it unread would reset the connection, and a reset makes the
        kernel drop what chatc has not read yet)."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            raise AssertionError("chatc did not connect within %ss"
                                 % timeout)
        self.conn, _ = self.sock.accept()
        self.received = b""
        self.read_until(b"help\n", timeout)
        return self.conn

    def send(self, data):
        self.conn.sendall(data)

    def read_until(self, want, timeout=DEFAULT_TIMEOUT):
        """Read what chatc sends until `want` (bytes) is in it."""
        deadline = time.monotonic() + timeout
        while want not in self.received:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.conn], [], [], max(left, 0))
            if not r:
                raise AssertionError("chatc did not send %r; got %r"
                                     % (want, self.received))
            data = self.conn.recv(65536)
            if not data:
                raise AssertionError("chatc closed before sending %r; "
                                     "got %r" % (want, self.received))
            self.received += data
        return self.received

    def read_to_eof(self, timeout=DEFAULT_TIMEOUT):
        """Everything chatc sends until it shuts down its side."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.conn], [], [], max(left, 0))
            if not r:
                raise AssertionError("chatc did not finish sending; got %r"
                                     % self.received)
            data = self.conn.recv(65536)
            if not data:
                return self.received
            self.received += data

    def close(self):
        for s in (self.conn, self.sock):
            if s is not None:
                s.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


def spawn_chatc(args, env=None):
    """chatc on pipes, running; finish() collects it."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.Popen([CHATC] + list(args), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=e, preexec_fn=_pdeathsig)


def finish(p, timeout=DEFAULT_TIMEOUT):
    """Read chatc's output to its end and wait for it to exit, its stdin
    still open (so only the server can end the session); returns (status,
    stdout, stderr)."""
    out = p.stdout.read()
    err = p.stderr.read()
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError("chatc did not exit; stdout %r stderr %r"
                             % (out[-500:], err))
    finally:
        p.stdin.close()
        p.stdout.close()
        p.stderr.close()
    return p.returncode, out, err


def descendants(pid):
    """The PIDs of pid's children, theirs, and so on (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            continue
        found += kids
        todo += kids
    return found


class Tmux:
    """chatc in a terminal of its own private tmux server."""

    def __init__(self, cols=100, rows=30):
        self.dir = mkdtemp("chatc-tmux-")
        self.socket = os.path.join(self.dir, "s%d" % next(_counter))
        self.status_path = os.path.join(self.dir, "status")
        self.conf = os.path.join(self.dir, "tmux.conf")
        with open(self.conf, "w") as f:
            # The pane stays after chatc exits, so its last words can be
            # read; no status line, so the pane is the whole window.
            f.write("set -g remain-on-exit on\nset -g status off\n"
                    "set -g history-limit 2000\n")
        self.cols, self.rows = cols, rows
        self.pid = None

    def tmux(self, *args, check=True):
        r = subprocess.run(["tmux", "-S", self.socket, "-f", self.conf]
                           + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=10, universal_newlines=True)
        if check and r.returncode != 0:
            raise AssertionError("tmux %s failed: %s" % (args, r.stderr))
        return r.stdout

    def start(self, args, env=None):
        """Run chatc with args in a new session; env: extra variables
        (None as a value unsets one)."""
        e = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "NO_COLOR": None}
        e.update(env or {})
        sets = ["%s=%s" % (k, v) for k, v in e.items() if v is not None]
        unsets = ["-u%s" % k for k, v in e.items() if v is None]
        # A shell runs chatc and writes down its exit status.  It ignores
        # SIGINT, which Ctrl-C sends to the whole foreground group, so it
        # outlives chatc (chatc installs its own handler).
        script = 'trap "" INT; "$@"; echo $? > "$STATUS"'
        self.tmux("new-session", "-d", "-x", str(self.cols), "-y",
                  str(self.rows), "env",
                  *(unsets + ["STATUS=" + self.status_path] + sets
                    + ["sh", "-c", script, "sh", CHATC] + list(args)))
        self.pid = int(self.tmux("display-message", "-p", "#{pid}"))
        return self

    def start_shell(self):
        """An interactive bash in a new session, prompt "$ ", for job
        control; type the chatc command line into it (self.chatc)."""
        self.tmux("new-session", "-d", "-x", str(self.cols), "-y",
                  str(self.rows), "env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
                  "PS1=$ ", "bash", "--norc", "--noprofile", "-i")
        self.pid = int(self.tmux("display-message", "-p", "#{pid}"))
        return self

    def keys(self, *keys):
        """send-keys: key names such as Enter, Tab, C-d."""
        self.tmux("send-keys", "-t", "0", *keys)

    def type(self, text):
        """Type text literally."""
        self.tmux("send-keys", "-t", "0", "-l", text)

    def screen(self, escapes=False):
        """The visible lines, trailing blanks and empty lines removed."""
        args = ["capture-pane", "-p", "-t", "0"]
        if escapes:
            args.append("-e")
        lines = [l.rstrip() for l in self.tmux(*args).split("\n")]
        while lines and lines[-1] == "":
            lines.pop()
        return lines

    def wait(self, pred, timeout=DEFAULT_TIMEOUT, escapes=False):
        """Wait until pred(lines) holds (a str: a line equal to it, a
        compiled regex: a line matching it); returns the lines."""
        if isinstance(pred, str):
            want = pred
            pred = lambda lines: want in lines  # noqa: E731
        elif isinstance(pred, re.Pattern):
            rx = pred
            pred = lambda lines: any(rx.search(l) for l in lines)  # noqa
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen(escapes)
            if pred(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError("screen did not show what was "
                                     "expected within %ss:\n%s"
                                     % (timeout, "\n".join(lines)))
            time.sleep(0.05)

    def last(self):
        """The last non-empty line: the prompt while chatc runs."""
        lines = self.screen()
        return lines[-1] if lines else ""

    def wait_last(self, want, timeout=DEFAULT_TIMEOUT):
        self.wait(lambda lines: lines and lines[-1] == want, timeout)

    def exit_status(self, timeout=DEFAULT_TIMEOUT):
        """chatc's exit status (128 + N if signal N ended it), once it
        has exited."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(self.status_path) as f:
                    text = f.read()
                if text.endswith("\n"):
                    return int(text)
            except FileNotFoundError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("chatc still running after %ss; "
                                     "screen:\n%s"
                                     % (timeout, "\n".join(self.screen())))
            time.sleep(0.05)

    def kill(self):
        """End this tmux server (and chatc in it), by its own socket and
        then by its PID; then whatever it ran that outlives it, by PID: a
        chatc built with ASan that tmux hung up on was seen to spin in
        LeakSanitizer, orphaned, two cores' worth until the end of CI."""
        if self.pid is None:
            self.tmux("kill-server", check=False)
            return
        ran = descendants(self.pid)
        self.tmux("kill-server", check=False)
        for pid in [self.pid] + ran:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.pid = None
