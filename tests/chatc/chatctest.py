"""Harness for the tests of chatc, the terminal client.

Python 3 standard library only.  Servers come from
tests/integration/chatdtest.py (the real chatd on 127.0.0.1 port 0, the
port read from its log); chatc is the binary next to chatd (env CHATC, else
the directory of CHATD).  Besides:

- run_chatc(args, input) runs chatc on pipes to completion;
- FakeServer is a listening socket on 127.0.0.1 port 0 playing a server
  (a hostile one, or one that records exactly what chatc sends);
- Tmux runs chatc in a terminal of a private tmux server (its own socket
  in a temp dir), types into it with send-keys and reads the screen with
  capture-pane.  kill() ends that tmux server and nothing else.

Every wait is bounded and a failed one raises AssertionError showing what
was there; the watchdog of chatdtest ends a test file that hangs.
"""

import itertools
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import chatdtest  # noqa: E402
from chatdtest import Server, mkdtemp  # noqa: E402,F401

CHATC = os.environ.get("CHATC") or os.path.join(
    os.path.dirname(os.path.abspath(chatdtest.CHATD)), "chatc")
TIMEOUT = 5.0

_counter = itertools.count()


def run_chatc(args, input=b"", timeout=10, env=None):
    """Run chatc on pipes; returns CompletedProcess with bytes output."""
    e = dict(os.environ)
    e.update(env or {})
    try:
        return subprocess.run([CHATC] + list(args), input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=e,
                              preexec_fn=chatdtest._pdeathsig)
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

    def accept(self, timeout=TIMEOUT):
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

    def read_until(self, want, timeout=TIMEOUT):
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

    def read_to_eof(self, timeout=TIMEOUT):
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
                            env=e, preexec_fn=chatdtest._pdeathsig)


def finish(p, timeout=TIMEOUT):
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


def have_tmux():
    return shutil.which("tmux") is not None


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

    def wait(self, pred, timeout=TIMEOUT, escapes=False):
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

    def wait_last(self, want, timeout=TIMEOUT):
        self.wait(lambda lines: lines and lines[-1] == want, timeout)

    def exit_status(self, timeout=TIMEOUT):
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
        then by its PID."""
        self.tmux("kill-server", check=False)
        if self.pid is not None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.pid = None
