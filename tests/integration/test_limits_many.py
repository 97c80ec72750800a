#!/usr/bin/env python3
"""Each limit at its boundary with many clients at once: max_clients and
max_per_ip under a burst of simultaneous connections, the burst of the
input rate for ten senders, max_line and max_line + 1 from ten senders,
idle_timeout for ten idle clients beside an active one, and output_limit
for several clients that never read (dropped after more than
output_limit bytes were owed to them, and before their queue, kernel
buffers and a line could hold it all)."""

import socket
import sys
import time
import unittest

import chatdtest as ct


def first_lines(socks, timeout=5.0):
    """The first line each raw socket receives (b"" if it is closed)."""
    out = []
    for s in socks:
        s.settimeout(timeout)
        data = b""
        while b"\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        out.append(data.split(b"\r\n", 1)[0].decode())
    return out


class ConnectionBurstTest(unittest.TestCase):

    def test_max_clients_burst(self):
        with ct.Server({"server": {"max_clients": 40}}) as srv:
            socks = [socket.create_connection((srv.host, srv.port))
                     for _ in range(50)]
            try:
                firsts = first_lines(socks)
            finally:
                for s in socks:
                    s.close()
            welcomed = [l for l in firsts if l.startswith("* welcome ")]
            full = [l for l in firsts if l == "! server full"]
            self.assertEqual((len(welcomed), len(full)), (40, 10), firsts)
            self.assertEqual(srv.log_text().count(": server full"), 10)
            # the 40 leave; their places come back
            a = None
            deadline = time.monotonic() + 5
            while a is None:
                c = ct.Client(srv.port)
                if c.line().startswith("* welcome "):
                    a = c
                else:
                    c.close()
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.05)
            m = a.expect_match(r"\* online \((\d+)\): .*")
            self.assertLessEqual(int(m.group(1)), 40)

    def test_max_per_ip_burst(self):
        with ct.Server({"limits": {"max_per_ip": 4}}) as srv:
            by_src = {}
            for src in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
                by_src[src] = [socket.create_connection(
                    (srv.host, srv.port), source_address=(src, 0))
                    for _ in range(6)]
            try:
                for src, socks in by_src.items():
                    firsts = first_lines(socks)
                    ok = [l for l in firsts if l.startswith("* welcome ")]
                    refused = [l for l in firsts if l ==
                               "! too many connections from your address"]
                    self.assertEqual((len(ok), len(refused)), (4, 2),
                                     "%s: %r" % (src, firsts))
            finally:
                for socks in by_src.values():
                    for s in socks:
                        s.close()


class RateBurstTest(unittest.TestCase):

    def test_burst_then_rate_for_many_senders(self):
        # burst 5 at 2 lines/s: the first 5 lines of each sender go at
        # once, the 6th waits for a token (0.5 s)
        cfg = {"limits": {"lines_per_second": 2, "burst": 5}}
        with ct.Server(cfg) as srv:
            watcher = srv.client()
            senders = []
            for _ in range(10):
                c = srv.client()
                watcher.expect("* %s joined" % c.name)
                senders.append(c)
            for i, s in enumerate(senders):
                s.send("".join("s%d l%d\n" % (i, n) for n in range(6)))
            got = [watcher.line(timeout=5) for _ in range(60)]
            # every sender's burst comes before any sender's sixth line
            first50 = [l.rsplit(" ", 1)[1] for l in got[:50]]
            last10 = [l.rsplit(" ", 1)[1] for l in got[50:]]
            self.assertNotIn("l5", first50, got)
            self.assertEqual(last10, ["l5"] * 10, got)
            # and each sender's lines are in order
            for i, s in enumerate(senders):
                mine = [l.rsplit(" ", 1)[1] for l in got
                        if l.startswith("[%s]: s%d " % (s.name, i))]
                self.assertEqual(mine, ["l%d" % n for n in range(6)])


class MaxLineManyTest(unittest.TestCase):

    def test_exact_and_one_over_from_many(self):
        with ct.Server({"buffers": {"max_line": 100}}) as srv:
            cs = srv.room(10)
            exact = ["%02d" % i + "x" * 98 for i in range(10)]
            cjk = "\u675c" * 33 + "y"           # 100 bytes of UTF-8
            for i, c in enumerate(cs):
                c.send(exact[i] + "\n" + "z" * 101 + "\r\n" + cjk + "\r\n")
            for i, c in enumerate(cs):
                lines = [c.line() for _ in range(21)]
                self.assertEqual(
                    lines.count("! line too long (max 100 bytes)"), 1)
                for j, o in enumerate(cs):
                    self.assertIn("[%s]: %s" % (o.name, exact[j]), lines)
                    self.assertIn("[%s]: %s" % (o.name, cjk), lines)


class IdleManyTest(unittest.TestCase):

    def test_many_idle_one_active(self):
        idle = 2
        with ct.Server({"server": {"idle_timeout": idle}}) as srv:
            active = srv.client()
            sleepers = []
            for _ in range(10):
                c = srv.client()
                active.expect("* %s joined" % c.name)
                sleepers.append(c)
            t0 = time.monotonic()
            timed_out = set()
            # the active client keeps sending just inside the timeout
            while len(timed_out) < 10 and time.monotonic() - t0 < idle + 3:
                active.sendline("tick")
                for l in active.read_until("[%s]: tick" % active.name):
                    if l.endswith(" timed out"):
                        timed_out.add(l[2:-len(" timed out")])
                time.sleep(idle * 0.4)
            elapsed = time.monotonic() - t0
            self.assertEqual(timed_out, {c.name for c in sleepers})
            self.assertGreater(elapsed, idle - 0.5)
            for c in sleepers:
                c.read_until("* idle timeout, bye", timeout=3)
                c.expect_closed()
            active.sendline("who")
            active.expect("* online (1):")


class OutputLimitManyTest(unittest.TestCase):

    def test_several_non_readers(self):
        limit = 16384
        with ct.Server({"buffers": {"output_limit": limit}}) as srv:
            flooder, reader = srv.room(2)
            slow = []
            for _ in range(5):
                s = srv.client(rcvbuf=4096)    # reads its welcome only
                for c in (flooder, reader):
                    c.expect("* %s joined" % s.name)
                slow.append(s)
            rcvbuf = slow[0].sock.getsockopt(socket.SOL_SOCKET,
                                              socket.SO_RCVBUF)
            with open("/proc/sys/net/core/wmem_max") as f:
                wmem_max = int(f.read())
            text = "f%05d " + "p" * 200
            wire = len("[%s]: " % flooder.name) + len(text % 0) + 2
            dropped = {"* %s dropped (too slow)" % s.name: s for s in slow}
            owed = {}       # notice -> flood lines broadcast before it
            sent = n = 0
            while len(owed) < 5 and sent < 20000:
                flooder.send("".join((text % i) + "\n"
                                     for i in range(sent, sent + 100)))
                sent += 100
                last = "[%s]: %s" % (flooder.name, text % (sent - 1))
                for l in reader.read_until(last, timeout=10):
                    if l in dropped:
                        owed[l] = n
                    elif l.startswith("[%s]: f" % flooder.name):
                        self.assertEqual(l, "[%s]: %s" % (flooder.name,
                                                          text % n))
                        n += 1
            self.assertEqual(len(owed), 5, "not all dropped after %d lines"
                             % sent)
            # Dropped once more than output_limit was queued, which takes
            # more than output_limit owed, and no later than the queue,
            # the kernel's send buffer (2 * min(limit, wmem_max)), the
            # receive buffer and a line could hold.
            most = limit + 2 * min(limit, wmem_max) + rcvbuf + wire
            sys.stderr.write("bytes owed at the drops: %r (limit %d, at "
                             "most %d)\n" % (sorted(v * wire for v in
                                                    owed.values()),
                                             limit, most))
            for notice, lines in owed.items():
                self.assertGreater(lines * wire, limit, notice)
                self.assertLessEqual(lines * wire, most + 4096, notice)
            reader.sendline("who")
            reader.expect("* online (2):")


if __name__ == "__main__":
    unittest.main()
