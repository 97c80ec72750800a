"""chatbench: its options are documented, and it measures what it says.

Run by "make check" (chatbench is built next to chatd).  Small real runs
against chatd on loopback, and against a RESP3 stand-in for Redis pub/sub
written here (so the Redis protocol is checked without a redis-server),
which hands out its replies in small pieces to exercise the parser.
Every run is bounded by chatbench's own --deadline and a subprocess
timeout.  Exit 0 = pass.
"""

import os
import re
import selectors
import socket
import subprocess
import threading
import unittest

import chatdtest as ct

BUILDDIR = os.path.dirname(os.path.abspath(ct.CHATD))
CHATBENCH = os.environ.get("CHATBENCH") or os.path.join(BUILDDIR,
                                                        "chatbench")


def long_options():
    """The long options of chatbench.c's table."""
    with open(os.path.join(ct.SRCDIR, "bench", "chatbench.c"),
              encoding="utf-8") as f:
        text = f.read()
    table = text[text.index("longopts[] = {"):]
    table = table[:table.index("};")]
    return re.findall(r'\{ "([a-z-]+)",', table)


def run(args, timeout=60):
    p = subprocess.run([CHATBENCH] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def kv(out, nlines=2):
    """The key=value line (the last one) as a dict; out has nlines lines
    (one for people, two with an attack's, then the key=value one)."""
    lines = out.strip().split("\n")
    assert len(lines) == nlines, out
    return dict(f.split("=", 1) for f in lines[-1].split())


class Options(unittest.TestCase):

    def test_help_names_every_option(self):
        rc, out, _ = run(["--help"])
        self.assertEqual(rc, 0)
        opts = long_options()
        self.assertGreater(len(opts), 15)
        for o in opts:
            self.assertIn("--" + o, out)

    def test_manual_names_every_option(self):
        with open(os.path.join(BUILDDIR, "doc", "chatbench.1"),
                  encoding="utf-8") as f:
            page = f.read()
        self.assertNotIn("@VERSION@", page)
        for o in long_options():
            self.assertIn("Fl Fl %s" % o, page)

    def test_usage_errors(self):
        for args in ([], ["-p", "1", "-m", "5", "-t", "1"],
                     ["-p", "0"], ["-p", "1", "-b", "8"],
                     ["-p", "1", "-x", "irc"], ["-p", "1", "--idle"],
                     ["-p", "1", "-n", "2", "-s", "3"], ["-p", "1", "x"]):
            rc, out, err = run(args)
            self.assertEqual(rc, 2, args)
            self.assertEqual(out, "", args)
            self.assertIn("chatbench", err, args)


class AgainstChatd(unittest.TestCase):

    def server(self, **buffers):
        cfg = {"server": {"idle_timeout": 0}}
        if buffers:
            cfg["buffers"] = buffers
        return ct.Server(cfg).start()

    def test_closed_loop(self):
        with self.server() as srv:
            rc, out, err = run(["-p", str(srv.port), "-P", str(srv.pid),
                                "-n", "20", "-s", "3", "-m", "50",
                                "-d", "30"])
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(out.startswith("chatd: 20 clients, 3 senders"), out)
        r = kv(out)
        self.assertEqual(r["sent"], "150")
        self.assertEqual(r["expected"], "3000")
        self.assertEqual(r["deliveries"], "3000")
        for k in ("lost", "reordered", "dead", "errors", "bad", "other"):
            self.assertEqual(r[k], "0", k)
        self.assertEqual(r["complete"], "1")
        self.assertGreaterEqual(float(r["srv_cpu_s"]), 0)
        # every reader was written to at least once, never more than once
        # per line
        self.assertTrue(20 <= int(r["srv_writes"]) <= 3000, r["srv_writes"])
        self.assertGreaterEqual(int(r["srv_reads"]), 1)
        self.assertGreater(int(r["srv_rss_kb"]), 0)
        self.assertLessEqual(float(r["p50_us"]), float(r["p99_us"]))
        self.assertLessEqual(float(r["p99_us"]), float(r["max_us"]))

    def test_websocket(self):
        # --ws: the same closed loop through the [websocket] listener,
        # with lines long enough for a 16-bit frame length.
        cfg = {"server": {"idle_timeout": 0},
               "websocket": {"bind": "127.0.0.1", "port": 0}}
        with ct.Server(cfg) as srv:
            wport = srv.listener_port("websocket")
            rc, out, err = run(["-p", str(wport), "--ws", "-P", str(srv.pid),
                                "-n", "20", "-s", "3", "-m", "50",
                                "-b", "300", "-d", "30"])
            self.assertEqual(rc, 0, out + err)
            r = kv(out)
            self.assertEqual(r["deliveries"], "3000")
            for k in ("lost", "reordered", "dead", "errors", "bad", "other"):
                self.assertEqual(r[k], "0", k)
            rc, out, err = run(["-p", str(wport), "--ws", "-P", str(srv.pid),
                                "-n", "30", "--idle", "-t", "0.2",
                                "-d", "30"])
            self.assertEqual(rc, 0, out + err)
            self.assertEqual(kv(out)["deliveries"], "30")
        rc, out, err = run(["-p", "1", "--ws", "-k", "1"])
        self.assertEqual(rc, 2)

    def test_join_spam(self):
        """--join-spam: clients of one address connecting in a loop in the
        middle third, at chatd's default connect rate (16 at once, then 2
        a second per address): most are refused, the readers lose
        nothing, and the latency comes by third of the talk."""
        cfg = {"server": {"idle_timeout": 0},
               "limits": {"max_per_ip": None, "connects_per_second": None}}
        with ct.Server(cfg) as srv:
            rc, out, err = run(["-p", str(srv.port), "-P", str(srv.pid),
                                "-n", "10", "-s", "2", "-r", "40",
                                "-t", "1.5", "-J", "4", "-d", "30"])
            self.assertEqual(rc, 0, out + err)
            self.assertRegex(out.split("\n")[1],
                             r"^chatd: the attack \(join spam\): p50/p99 ")
            r = kv(out, 3)
            self.assertEqual(r["join_spam"], "4")
            self.assertEqual(r["lost"], "0")
            connects, welcomed, refused = (int(r[k]) for k in (
                "spam_connects", "spam_welcomed", "spam_refused"))
            self.assertGreater(welcomed, 0)
            self.assertLessEqual(welcomed, 16 + 2)
            self.assertGreater(refused, 0)
            self.assertLessEqual(welcomed + refused, connects)
            for third in ("before", "during", "after"):
                self.assertGreater(float(r["p50_%s_us" % third]), 0, third)
                self.assertLessEqual(float(r["p50_%s_us" % third]),
                                     float(r["p99_%s_us" % third]), third)
            self.assertRegex(srv.log_text(), r"refused 127\.0\.0\.254:\d+"
                             r".*connecting too often")
        rc, out, err = run(["-p", "1", "-J", "2", "-m", "10"])
        self.assertEqual((rc, out), (2, ""))

    def test_refused_clients_come_back_later(self):
        """Clients refused at the door with a reason (a connect rate of
        2 a second after a burst of 3) pause and try again until all are
        in: the run passes, and says what the server answered."""
        cfg = {"server": {"idle_timeout": 0},
               "limits": {"max_per_ip": None, "connects_per_second": 2,
                          "connect_burst": 3}}
        with ct.Server(cfg) as srv:
            rc, out, err = run(["-p", str(srv.port), "-n", "7", "-s", "1",
                                "-m", "5", "-d", "30"])
            self.assertEqual(rc, 0, out + err)
            self.assertRegex(out.split("\n")[1],
                             r'^chatd: the server refused \d+ connections '
                             r'before their welcome, the first with "! '
                             r'connecting too often from your address"')
            r = kv(out, 3)
            self.assertGreaterEqual(int(r["refusals"]), 4)
            self.assertEqual(r["refusals"], r["reconnects"])
            self.assertEqual((r["lost"], r["dead"], r["errors"]),
                             ("0", "0", "0"))
            self.assertEqual(r["deliveries"], "35")

    def test_duration_and_rate(self):
        with self.server() as srv:
            rc, out, err = run(["-p", str(srv.port), "-n", "10", "-s", "2",
                                "-t", "1", "-r", "60", "-d", "30"])
        self.assertEqual(rc, 0, out + err)
        r = kv(out)
        # 60 lines/s for one second, the last due just before the end
        self.assertTrue(50 <= int(r["sent"]) <= 61, r["sent"])
        self.assertEqual(int(r["deliveries"]), 10 * int(r["sent"]))
        self.assertEqual(r["srv_cpu_s"], "-1.00")   # no --pid
        self.assertEqual(r["srv_writes"], "-1")

    def test_idle(self):
        with self.server() as srv:
            rc, out, err = run(["-p", str(srv.port), "-P", str(srv.pid),
                                "-n", "30", "--idle", "-t", "0.2",
                                "-d", "30"])
        self.assertEqual(rc, 0, out + err)
        self.assertIn("30 idle clients", out)
        r = kv(out)
        self.assertEqual(r["mode"], "idle")
        self.assertEqual(r["deliveries"], "30")
        self.assertGreater(int(r["srv_rss_idle_kb"]), 0)
        self.assertNotEqual(r["rss_per_conn_b"], "-1")

    def test_slow_reader_is_dropped(self):
        with self.server(output_limit=65536) as srv:
            rc, out, err = run(["-p", str(srv.port), "-n", "10", "-s", "2",
                                "-m", "2000", "-b", "1000", "-w", "4",
                                "-k", "1", "-d", "60"])
        self.assertEqual(rc, 0, out + err)
        r = kv(out)
        self.assertEqual(r["slow_dropped"], "10")   # one notice per reader
        self.assertEqual(r["other_dropped"], "0")
        self.assertNotEqual(r["slow_drop_s"], "-1.000")
        self.assertEqual(r["lost"], "0")

    def test_sources(self):
        with self.server() as srv:
            rc, out, err = run(["-p", str(srv.port), "-n", "9", "-s", "1",
                                "-m", "5", "-S", "3", "-d", "30"])
            log = srv.log_text()
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(kv(out)["sources"], "3")
        for a in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
            self.assertRegex(log, r"connected from %s:\d+" % re.escape(a))


class FakeRedis(threading.Thread):
    """Pub/sub for one channel, RESP3 only, replies cut in 7-byte pieces
    (each sent as its own write)."""

    def __init__(self, error_on_publish=False):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ)
        self.bufs = {}
        self.subs = []
        self.error = error_on_publish
        self.stop = False
        self.start()

    @staticmethod
    def bulk(b):
        return b"$%d\r\n%s\r\n" % (len(b), b)

    def out(self, conn, data):
        for i in range(0, len(data), 7):
            conn.sendall(data[i:i + 7])

    def command(self, conn, argv):
        if argv[0].upper() == b"HELLO":
            self.out(conn, b"%2\r\n" + self.bulk(b"server") +
                     self.bulk(b"fake") + self.bulk(b"proto") + b":3\r\n")
        elif argv[0].upper() == b"SUBSCRIBE":
            self.subs.append(conn)
            self.out(conn, b">3\r\n" + self.bulk(b"subscribe") +
                     self.bulk(argv[1]) + b":1\r\n")
        elif argv[0].upper() == b"PUBLISH" and self.error:
            self.out(conn, b"-ERR not today\r\n")
        elif argv[0].upper() == b"PUBLISH":
            msg = (b">3\r\n" + self.bulk(b"message") + self.bulk(argv[1]) +
                   self.bulk(argv[2]))
            for s in self.subs:
                self.out(s, msg)
            self.out(conn, b":%d\r\n" % len(self.subs))

    def parse(self, conn):
        buf = self.bufs[conn]
        while buf:
            if buf[:1] == b"*":       # a RESP array of bulk strings
                m = re.match(rb"\*(\d+)\r\n", buf)
                if not m:
                    break
                pos, argv = m.end(), []
                for _ in range(int(m.group(1))):
                    b = re.match(rb"\$(\d+)\r\n", buf[pos:])
                    if not b or len(buf) < pos + b.end() + int(b.group(1)) + 2:
                        break
                    start = pos + b.end()
                    argv.append(buf[start:start + int(b.group(1))])
                    pos = start + int(b.group(1)) + 2
                if len(argv) != int(m.group(1)):
                    break
            else:                       # an inline command
                nl = buf.find(b"\r\n")
                if nl < 0:
                    break
                argv, pos = buf[:nl].split(), nl + 2
            buf = buf[pos:]
            self.command(conn, argv)
        self.bufs[conn] = buf

    def run(self):
        while not self.stop:
            for key, _ in self.sel.select(0.1):
                if key.fileobj is self.sock:
                    conn, _ = self.sock.accept()
                    conn.setblocking(True)
                    self.bufs[conn] = b""
                    self.sel.register(conn, selectors.EVENT_READ)
                    continue
                conn = key.fileobj
                try:
                    data = conn.recv(65536)
                except OSError:     # chatbench resets its connections
                    data = b""
                if not data:
                    self.sel.unregister(conn)
                    if conn in self.subs:
                        self.subs.remove(conn)
                    conn.close()
                    continue
                self.bufs[conn] += data
                self.parse(conn)

    def close(self):
        self.stop = True
        self.join(5)
        self.sock.close()


class AgainstRedisProtocol(unittest.TestCase):

    def test_pubsub(self):
        fake = FakeRedis()
        try:
            rc, out, err = run(["-x", "redis", "-p", str(fake.port),
                                "-n", "5", "-s", "2", "-m", "20", "-w", "4",
                                "-d", "30"])
        finally:
            fake.close()
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(out.startswith("redis: 5 clients"), out)
        r = kv(out)
        self.assertEqual(r["proto"], "redis")
        self.assertEqual(r["deliveries"], "200")
        for k in ("lost", "reordered", "errors", "bad", "other"):
            self.assertEqual(r[k], "0", k)

    def test_errors_are_counted(self):
        fake = FakeRedis(error_on_publish=True)
        try:
            rc, out, err = run(["-x", "redis", "-p", str(fake.port),
                                "-n", "3", "-s", "1", "-m", "5",
                                "-d", "2"])
        finally:
            fake.close()
        self.assertEqual(rc, 1, out + err)
        r = kv(out)
        self.assertEqual(r["errors"], "5")      # every line sent
        self.assertEqual(r["complete"], "0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
