#!/usr/bin/env python3
"""Input without lines is limited too: [limits] bytes_per_second bounds
what chatd reads from one connection (an endless line, an over-long line
being discarded, telnet negotiation), so such a client costs the server
little; lines under the rate are unaffected and nothing is lost."""

import os
import socket
import sys
import time
import unittest

import chatdtest as ct

RATE = 65536
SECONDS = 2.0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def flood(c, data, seconds):
    """Send data over and over without blocking for `seconds`; returns
    the bytes the kernel took."""
    c.sock.setblocking(False)
    sent, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sent += c.sock.send(data)
        except BlockingIOError:
            time.sleep(0.01)
    c.sock.setblocking(True)
    return sent


class InputBytesTest(unittest.TestCase):

    def check_bounded(self, srv, data, what):
        c = ct.Client(srv.port)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        c.join()
        cpu0 = cpu_seconds(srv.pid)
        sent = flood(c, data, SECONDS)
        cpu = cpu_seconds(srv.pid) - cpu0
        sys.stderr.write("%s: %d bytes taken in %.1f s at bytes_per_second "
                         "%d; chatd used %.2f s of CPU\n"
                         % (what, sent, SECONDS, RATE, cpu))
        # What chatd may have read, plus what the kernels buffer on
        # either side (a few MB on loopback at most).
        self.assertLess(sent, RATE * (SECONDS + 2) + 8 * 1024 * 1024)
        return c

    def test_endless_line(self):
        with ct.Server({"limits": {"bytes_per_second": RATE}}) as srv:
            bystander = srv.client()
            c = self.check_bounded(srv, b"x" * 65536, "endless line")
            bystander.expect("* %s joined" % c.name)
            bystander.sendline("still here")
            bystander.expect("[%s]: still here" % bystander.name)
            c.abort()
            self.assertEqual(srv.stop(), 0)

    def test_telnet_noise(self):
        with ct.Server({"limits": {"bytes_per_second": RATE}}) as srv:
            c = self.check_bounded(srv, b"\xff\xf1" * 32768, "telnet NOPs")
            c.abort()
            self.assertEqual(srv.stop(), 0)

    def test_lines_under_the_rate_all_arrive(self):
        cfg = {"limits": {"bytes_per_second": 4096}}
        with ct.Server(cfg) as srv:
            a, b = srv.room(2)
            texts = ["line %03d %s" % (i, "y" * 90) for i in range(100)]
            t0 = time.monotonic()
            a.send("".join(t + "\n" for t in texts))   # 10 KB: 2.5 s
            for t in texts:
                b.expect("[%s]: %s" % (a.name, t), timeout=10)
            # The first 4 KB at once, the rest at 4 KB/s: delayed, not
            # dropped.
            self.assertGreater(time.monotonic() - t0, 1.0)
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
