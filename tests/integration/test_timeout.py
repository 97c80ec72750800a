#!/usr/bin/env python3
"""idle_timeout: idle clients are dropped after idle_timeout (+-1 s);
complete lines, blank ones included, reset the timer; a partial line does
not; 0 means never."""

import time
import unittest

import chatdtest as ct

IDLE = 2


class IdleTimeoutTest(unittest.TestCase):

    # A server per test: no notices leak from one test into the next.
    def setUp(self):
        self.srv = ct.Server({"server": {"idle_timeout": IDLE}})
        self.srv.start()

    def tearDown(self):
        code = self.srv.stop()
        self.srv.kill()
        self.assertEqual(code, 0, "chatd exit status")

    def assert_timed_out(self, c, t0, others=()):
        c.expect("* idle timeout, bye", timeout=IDLE + 3)
        elapsed = time.monotonic() - t0
        self.assertEqual(c.expect_closed(timeout=3), [])
        self.assertGreaterEqual(elapsed, IDLE - 1, "dropped too early")
        self.assertLessEqual(elapsed, IDLE + 1.5, "dropped too late")
        for o in others:
            o.expect("* %s timed out" % c.name, timeout=IDLE + 3)

    def keepalive(self, c, payloads, duration):
        """Send payloads (cycled) once a second for `duration` s."""
        end = time.monotonic() + duration
        i = 0
        while time.monotonic() < end:
            c.send(payloads[i % len(payloads)])
            i += 1
            time.sleep(1.0)

    def test_idle_client_dropped(self):
        a = self.srv.client()
        t0 = time.monotonic()
        self.assert_timed_out(a, t0)

    def test_others_told(self):
        # b keeps talking with blank lines; a idles out; b is told.
        a = self.srv.client()
        t0 = time.monotonic()
        b = self.srv.client()
        a.expect("* %s joined" % b.name)
        b.send(b"\n")
        time.sleep(1.0)
        b.send(b"\n")
        self.assert_timed_out(a, t0, others=[b])
        b.close()

    def test_complete_lines_keep_alive(self):
        a = self.srv.client()
        b = self.srv.client()
        a.expect("* %s joined" % b.name)
        # a sends a chat line every second for 3.5 s, b an empty one.
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 3.5:
            a.sendline("tick %d" % n)
            a.expect("[%s]: tick %d" % (a.name, n))
            b.send(b"\n")
            time.sleep(1.0)
            b.expect("[%s]: tick %d" % (a.name, n))
            n += 1
        self.assertGreaterEqual(n, 3)
        # both still online, nobody timed out
        a.sendline("who")
        a.expect("* online (2):")
        a.expect("*   %s %s" % (a.name, a.name))
        a.expect("*   %s %s" % (b.name, b.name))
        b.no_line(0.1)
        # then both go quiet: both time out about IDLE s after their last
        # line (b's was a little earlier: a may hear of it first)
        t1 = time.monotonic()
        a.read_until("* idle timeout, bye", timeout=IDLE + 3)
        self.assertLess(time.monotonic() - t1, IDLE + 1.5)
        a.expect_closed()
        b.read_until("* idle timeout, bye", timeout=IDLE + 3)
        b.expect_closed()

    def test_blank_lines_keep_alive(self):
        a = self.srv.client()
        # blank lines, and lines left blank by control stripping
        self.keepalive(a, [b"\n", b"\r\n", b"   \n", b"\x01\x7f\r\n"], 3.2)
        a.no_line(0.05)  # still connected, nothing sent for blanks
        a.sendline("alive")
        a.expect("[%s]: alive" % a.name)
        a.close()

    def test_commands_keep_alive(self):
        a = self.srv.client()
        end = time.monotonic() + 3.2
        while time.monotonic() < end:
            a.sendline("who")
            a.expect("* online (1):")
            a.expect("*   %s %s" % (a.name, a.name))
            # Well inside IDLE even when a loaded machine slows the
            # round trip; the loop still outlasts IDLE.
            time.sleep(0.5)
        a.sendline("still")
        a.expect("[%s]: still" % a.name)
        a.close()

    def test_partial_line_does_not_keep_alive(self):
        a = self.srv.client()
        t0 = time.monotonic()
        a.send(b"partial")
        time.sleep(0.7)
        a.send(b" more")
        time.sleep(0.7)
        a.send(b" and more")
        self.assert_timed_out(a, t0)

    def test_partial_after_line(self):
        # The timer runs from the last complete line, not the last byte.
        a = self.srv.client()
        time.sleep(1.0)
        a.sendline("x")
        a.expect("[%s]: x" % a.name)
        t0 = time.monotonic()
        for _ in range(4):
            time.sleep(0.5)
            try:
                a.send(b"y")
            except (AssertionError, OSError):
                break
        self.assert_timed_out(a, t0)


class NoTimeoutTest(unittest.TestCase):

    def test_zero_means_never(self):
        with ct.Server({"server": {"idle_timeout": 0}}) as srv:
            a = srv.client()
            a.send(b"partial")
            a.no_line(3.0)
            a.send(b" line\n")
            a.expect("[%s]: partial line" % a.name)
            self.assertEqual(srv.stop(), 0)

    def test_renamed_client_timeout_notice(self):
        with ct.Server({"server": {"idle_timeout": IDLE}}) as srv:
            a = srv.client()
            b = srv.client()
            a.expect("* %s joined" % b.name)
            a.sendline("rename|sleepy")
            a.expect("* you are now sleepy")
            b.expect("* %s is now sleepy" % a.name)
            t0 = time.monotonic()
            while time.monotonic() - t0 < IDLE + 3:
                try:
                    l = b.line(timeout=0.5)
                except AssertionError:
                    b.send(b"\n")
                    continue
                self.assertEqual(l, "* sleepy timed out")
                break
            else:
                self.fail("no timed out notice")
            a.read_until("* idle timeout, bye")
            a.expect_closed()


if __name__ == "__main__":
    unittest.main()
