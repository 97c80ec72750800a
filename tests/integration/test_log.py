#!/usr/bin/env python3
"""The log: nobody on the network can forge a line of it, and [log]
syslog = yes sends it to syslog(3) instead of stderr.

Text a client controls reaches the log through plugins (chat.log of a
command's raw arguments, a Lua error whose message holds them) and through
names.  Whatever bytes it holds, every log line must start with chatd's own
prefix, hold no control character, be UTF-8, and show each escaped byte.

When stderr is a journal stream (JOURNAL_STREAM), each line starts with
its priority as "<N>" for journald.

The syslog delivery test runs chatd in a private user and mount namespace
(unshare -U -r -m) whose /dev is an empty tmpfs with /dev/log pointing at a
datagram socket of this test: the machine's own /dev/log is never touched.
Where unprivileged namespaces are not available that one test is skipped,
saying why; the other syslog checks run anyway.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest

import chatdtest as ct

PLUGIN = """\
-- test plugin: put a client's raw bytes into the log
chat.command("say", "say|TEXT: logs TEXT", function(user, args)
  chat.log("info", "said: " .. (args or ""))
  user:send("* logged")
end)
chat.command("boom", "boom|TEXT: fails with TEXT", function(user, args)
  error("boom: " .. (args or ""))
end)
chat.command("levels", "levels: logs at warn and debug", function(user)
  chat.log("warn", "a warning")
  chat.log("debug", "a debug line")
  user:send("* logged")
end)
"""

PREFIX = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z chatd\[\d+\] "
                    rb"(error|warn|info|debug): ")
FORGED = b"2026-01-01T00:00:00.000Z chatd[1] error: forged"

# (raw argument bytes, how the log must show them)
PAYLOADS = [
    (b"cr\r" + FORGED, b"cr\\r" + FORGED),
    (b"esc\x1b[2J\x1b]0;title\x07", b"esc\\x1b[2J\\x1b]0;title\\x07"),
    (b"c0\x01\x08\x0b\x0c\x1f del\x7f", b"c0\\x01\\x08\\x0b\\x0c\\x1f del\\x7f"),
    (b"c1\xc2\x85\xc2\x9b31m", b"c1\\xc2\\x85\\xc2\\x9b31m"),
    (b"raw8bit\x85\x9b\x9d", b"raw8bit\\x85\\x9b\\x9d"),
    # (0xff is telnet's IAC, taken out before framing: see test_telnet.py)
    (b"bad\xfe\xc0\xaf\xed\xa0\x80", b"bad\\xfe\\xc0\\xaf\\xed\\xa0\\x80"),
    (b"tab\there back\\slash", b"tab\\there back\\\\slash"),
    (b"utf8 \xe6\x9d\x9c \xf0\x9f\x98\x80", b"utf8 \xe6\x9d\x9c \xf0\x9f\x98\x80"),
]


def check_clean(testcase, data, what):
    """data (bytes) has no control byte but LF, no C1 and is UTF-8."""
    bad = [b for b in data if (b < 0x20 and b != 0x0a) or b == 0x7f]
    testcase.assertEqual(bad, [], "%s: raw control bytes" % what)
    text = data.decode("utf-8")  # raises if not UTF-8
    c1 = [c for c in text if 0x80 <= ord(c) <= 0x9f]
    testcase.assertEqual(c1, [], "%s: C1 controls" % what)


class ForgeryTest(unittest.TestCase):

    def test_client_bytes_are_escaped(self):
        with ct.Server(plugins={"90-say.lua": PLUGIN}) as srv:
            a = srv.client()
            for raw, _ in PAYLOADS:
                a.send(b"say|" + raw + b"\n")
                a.expect("* logged")
                a.send(b"boom|" + raw + b"\n")
                a.expect("! internal error")
            # Names: control characters are refused before any logging;
            # a name with a backslash is allowed and logged escaped.
            for bad in (b"a\rb", b"a\x1bb", b"a\xc2\x9bb", b"a\xfeb"):
                a.send(b"rename|" + bad + b"\n")
                a.expect_match(r"! name (contains a control character|"
                               r"is not valid UTF-8)")
            a.send(b"rename|back\\slash\n")
            a.expect("* you are now back\\slash")
            srv.wait_log(r"renamed \S+ to back\\\\slash")
            a.sendline("exit")
            a.read_until("* bye")
            a.expect_closed()
            self.assertEqual(srv.stop(), 0)
            with open(srv.log_path, "rb") as f:
                log = f.read()

        check_clean(self, log, "log")
        self.assertTrue(log.endswith(b"\n"))
        lines = log[:-1].split(b"\n")
        for line in lines:
            self.assertIsNotNone(PREFIX.match(line),
                                 "forged or broken line %r" % line)
        # The forged text is only ever inside a line, after "said: cr\r"
        # or "boom: cr\r", never at the start of one.
        self.assertFalse(any(l.startswith(FORGED) for l in lines))
        for raw, shown in PAYLOADS:
            self.assertIn(b"info: lua: ", log)
            said = [l for l in lines if b"said: " + shown in l]
            self.assertEqual(len(said), 1, "said: %r not shown as %r"
                             % (raw, shown))
            boom = [l for l in lines if b"boom: " + shown in l
                    and b" error: lua: " in l]
            self.assertEqual(len(boom), 1, "boom: %r not shown as %r"
                             % (raw, shown))
        self.assertIn(b"renamed %s to back\\\\slash" % a.name.encode(), log)
        self.assertNotIn(b"to a\\", log, "a refused name was logged")


def write_config(path, sections):
    with open(path, "w") as f:
        f.write(ct.format_ini(sections))


class SyslogTest(unittest.TestCase):

    def config(self, **log):
        return {"server": {"bind": "127.0.0.1", "port": ct.free_port(),
                           "show_addresses": True},
                "limits": {"lines_per_second": 0},
                "lua": {"path": ct.PLUGINS},
                "log": log}

    def test_check_accepts_syslog(self):
        d = ct.mkdtemp()
        path = os.path.join(d, "chatd.ini")
        write_config(path, self.config(syslog="yes"))
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual((r.returncode, r.stdout.splitlines()[-1:], r.stderr),
                         (0, ["ok"], ""))
        write_config(path, self.config(syslog="sometimes"))
        with open(path) as f:
            line = f.read().splitlines().index("syslog = sometimes") + 1
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "%s:%d: invalid value 'sometimes' for "
                         "syslog: expected true or false\n" % (path, line))

    def test_nothing_on_stderr_in_syslog_mode(self):
        cfg = self.config(syslog="yes", level="debug")
        with ct.Server(cfg, ready="connect") as srv:
            a = srv.client()
            a.sendline("rename|ada")
            a.expect("* you are now ada")
            a.sendline("hello")
            a.expect("[ada]: hello")
            srv.signal(signal.SIGHUP)  # a reload that keeps syslog on
            time.sleep(0.3)
            a.sendline("exit")
            a.read_until("* bye")
            a.expect_closed()
            self.assertEqual(srv.stop(), 0)
            err = srv.log_text()
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertRegex(lines[0], r"info: logging to syslog from now on "
                         r"\(facility daemon\)$")

    def test_startup_error_reaches_stderr(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        try:
            cfg = self.config(syslog="yes")
            cfg["server"]["port"] = busy.getsockname()[1]
            d = ct.mkdtemp()
            path = os.path.join(d, "chatd.ini")
            write_config(path, cfg)
            r = ct.run_chatd(["-c", path])
        finally:
            busy.close()
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"error: listen on 127\.0\.0\.1 port %d: "
                         r"Address already in use\n$" % cfg["server"]["port"])

    def test_sighup_switches_destination(self):
        cfg = self.config(syslog="no")
        with ct.Server(cfg) as srv:
            a = srv.client()
            write_config(srv.config_path, self.config(syslog="yes"))
            srv.signal(signal.SIGHUP)
            srv.wait_log(r"info: logging to syslog from now on")
            b = srv.client()  # its "connected" line goes to syslog
            a.expect("* %s joined" % b.name)
            self.assertNotIn("connected from %s" % b.name, srv.log_text())
            write_config(srv.config_path, cfg)
            srv.signal(signal.SIGHUP)
            srv.wait_log(r"info: reload done")
            c = srv.client()
            srv.wait_log(r"connected from %s" % re.escape(c.name))
            text = srv.log_text()
            self.assertNotIn("connected from %s" % b.name, text)
            self.assertNotIn("logging to stderr from now on", text)
            self.assertEqual(text.count("reload done"), 1, text)
            self.assertEqual(srv.stop(), 0)


class JournalTest(unittest.TestCase):
    """With stderr a journal stream (JOURNAL_STREAM names its device and
    inode), each line starts with its priority for journald."""

    def run_server(self, stream):
        srv = ct.Server({"log": {"level": "debug"}},
                        plugins={"90-say.lua": PLUGIN})
        open(srv.log_path, "wb").close()  # start() reopens the same inode
        st = os.stat(srv.log_path)
        os.environ["JOURNAL_STREAM"] = stream or "%d:%d" % (st.st_dev,
                                                          st.st_ino)
        try:
            srv.start()
        finally:
            del os.environ["JOURNAL_STREAM"]
        self.addCleanup(srv.kill)
        a = srv.client()
        for cmd, reply in (("levels", "* logged"),
                           ("boom|x", "! internal error")):
            a.sendline(cmd)
            a.expect(reply)
        srv.wait_log(r"boom: x")
        a.close()
        self.assertEqual(srv.stop(), 0)
        with open(srv.log_path, "rb") as f:
            return f.read()[:-1].split(b"\n")

    def test_priority_prefix(self):
        lines = self.run_server(None)
        prio = {b"error": b"<3>", b"warn": b"<4>", b"info": b"<6>",
                b"debug": b"<7>"}
        seen = set()
        for line in lines:
            m = re.match(rb"(<\d>)(.*?)$", line)
            self.assertIsNotNone(m, line)
            m2 = PREFIX.match(m.group(2))
            self.assertIsNotNone(m2, line)
            self.assertEqual(m.group(1), prio[m2.group(1)], line)
            seen.add(m2.group(1))
        self.assertEqual(seen, set(prio))

    def test_other_stream_no_prefix(self):
        for line in self.run_server("1:2"):
            self.assertIsNotNone(PREFIX.match(line), line)


def userns_works():
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    r = subprocess.run([unshare, "-U", "-r", "-m", "sh", "-c",
                        "mount -t tmpfs tmpfs /dev"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


class SyslogDeliveryTest(unittest.TestCase):

    def setUp(self):
        if not userns_works():
            self.skipTest("unshare -U -r -m is not permitted here, so no "
                          "private /dev/log can be made")

    def test_messages_reach_syslog(self):
        d = ct.mkdtemp()
        sock_path = os.path.join(d, "log")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        self.addCleanup(sock.close)
        conf = os.path.join(d, "chatd.ini")
        cfg = {"server": {"bind": "127.0.0.1", "port": 0,
                          "show_addresses": True},
               "lua": {"path": ct.make_plugin_dir({"90-say.lua": PLUGIN})},
               "log": {"syslog": "yes", "level": "debug"}}
        write_config(conf, cfg)
        errf = open(os.path.join(d, "stderr"), "wb+")
        self.addCleanup(errf.close)
        script = ('mount -t tmpfs tmpfs /dev && ln -s "$1" /dev/log && '
                  'exec "$2" -c "$3"')
        proc = subprocess.Popen(
            ["unshare", "-U", "-r", "-m", "sh", "-c", script, "sh",
             sock_path, ct.CHATD, conf], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=errf,
            preexec_fn=ct._pdeathsig)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait(5)
        self.addCleanup(stop)

        got = []

        def wait_for(rx, timeout=ct.START_TIMEOUT):
            rx = re.compile(rx)
            deadline = time.monotonic() + timeout
            for m in got:
                if rx.search(m):
                    return rx.search(m)
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    m = sock.recv(65536)
                except socket.timeout:
                    break
                got.append(m)
                if rx.search(m):
                    return rx.search(m)
            errf.seek(0)
            self.fail("no syslog message matched %r; got %r; stderr %r"
                      % (rx.pattern, got, errf.read()))

        m = wait_for(rb"^<30>.* chatd\[(\d+)\]: info: listening on "
                     rb"127\.0\.0\.1:(\d+)$")
        self.assertEqual(int(m.group(1)), proc.pid)
        port = int(m.group(2))
        a = ct.Client(port)
        self.addCleanup(a.close)
        a.join()
        a.send(b"say|cr\r" + FORGED + b" \x1b[2J\xc2\x9b\xfe\n")
        a.expect("* logged")
        wait_for(rb"^<30>.* chatd\[\d+\]: info: lua: \S+90-say\.lua:3: said: "
                 rb"cr\\r" + re.escape(FORGED) +
                 rb" \\x1b\[2J\\xc2\\x9b\\xfe$")
        a.send(b"boom|x\n")
        a.expect("! internal error")
        wait_for(rb"^<27>.* chatd\[\d+\]: error: lua: \S+90-say\.lua:7: "
                 rb"boom: x\\nstack traceback:")
        a.send(b"levels\n")
        a.expect("* logged")
        wait_for(rb"^<28>.* chatd\[\d+\]: warn: lua: \S+:10: a warning$")
        wait_for(rb"^<31>.* chatd\[\d+\]: debug: lua: \S+:11: a debug line$")
        a.sendline("exit")
        a.read_until("* bye")
        a.expect_closed()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(10), 0)
        wait_for(rb"^<30>.* chatd\[\d+\]: info: stopped$")
        for msg in got:
            # syslog adds the time; chatd's own stamp is not repeated
            self.assertRegex(msg, rb"^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d "
                             rb"chatd\[\d+\]: (error|warn|info|debug): ")
            self.assertNotRegex(msg, rb"\]: \S+ \d{4}-\d\d-\d\dT")
            check_clean(self, msg, "syslog message")
        errf.seek(0)
        err = errf.read().decode()
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("logging to syslog from now on", err)


if __name__ == "__main__":
    unittest.main()
