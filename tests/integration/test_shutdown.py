#!/usr/bin/env python3
"""SIGTERM / SIGINT: every client gets "* server shutting down", queued
output is flushed (at most 5 s, even if a client never reads), exit 0."""

import signal
import sys
import time
import unittest

import chatdtest as ct

NOTICE = "* server shutting down"


class ShutdownTest(unittest.TestCase):

    def _signal_room(self, sig):
        with ct.Server() as srv:
            a, b, c = srv.room(3)
            b.sendline("rename|bee")
            b.expect("* you are now bee")
            a.expect("* %s is now bee" % b.name)
            c.expect("* %s is now bee" % b.name)
            t0 = time.monotonic()
            srv.signal(sig)
            for x in (a, b, c):
                x.expect(NOTICE)
                self.assertEqual(x.expect_closed(), [])
            self.assertEqual(srv.wait_exit(5), 0)
            self.assertLess(time.monotonic() - t0, 3.0)

    def test_sigterm(self):
        self._signal_room(signal.SIGTERM)

    def test_sigint(self):
        self._signal_room(signal.SIGINT)

    def test_sigterm_while_loading_plugins(self):
        # A signal that arrives while plugins load (here: one that spins
        # for a while at load time) must stop chatd in order once it is
        # up, not kill it by the signal's default action.
        slow = ('chat.log("info", "slow plugin loading")\n'
                'local x = 0\n'
                'for i = 1, 3e7 do x = x + i end\n')
        srv = ct.Server(plugins={"05-slow.lua": slow}, ready=None,
                        config={"lua": {"max_instructions": 10 ** 12,
                                        "max_time": 60000}})
        with srv:
            srv.wait_log(r"slow plugin loading")
            srv.signal(signal.SIGTERM)
            self.assertEqual(srv.wait_exit(20), 0, srv.log_text())
            log = srv.log_text()
            self.assertIn("listening on", log)
            self.assertIn("shutting down", log)

    def test_no_clients(self):
        with ct.Server() as srv:
            t0 = time.monotonic()
            srv.signal(signal.SIGTERM)
            self.assertEqual(srv.wait_exit(5), 0)
            self.assertLess(time.monotonic() - t0, 2.0)

    def test_partial_line_client(self):
        with ct.Server() as srv:
            a = srv.client()
            a.send(b"half a line")
            srv.signal(signal.SIGTERM)
            a.expect(NOTICE)
            a.expect_closed()
            self.assertEqual(srv.wait_exit(5), 0)

    def test_queued_output_flushed(self):
        # The reader has a small receive buffer and has not read yet when
        # the signal comes: megabytes of its output wait in the kernel and
        # in the server's queue.  All of it arrives, then the notice.
        cfg = {"buffers": {"output_limit": 16 * 1024 * 1024}}
        n = 6000
        with ct.Server(cfg) as srv:
            talker = srv.client()
            reader = srv.client(rcvbuf=4096)
            talker.expect("* %s joined" % reader.name)
            pad = "q" * 990
            want = ["[%s]: q%04d %s" % (talker.name, i, pad)
                    for i in range(n)]
            for start in range(0, n, 100):
                talker.send("".join("q%04d %s\n" % (i, pad)
                                    for i in range(start, start + 100)))
                talker.read_until(want[start + 99], timeout=10)
            srv.signal(signal.SIGTERM)
            talker.expect(NOTICE)
            talker.expect_closed()
            rest = reader.expect_closed(timeout=10)
            self.assertEqual(rest[-1:], [NOTICE])
            self.assertEqual(len(rest), n + 1, "lines lost at shutdown")
            self.assertTrue(rest[:-1] == want, "lines lost or reordered")
            self.assertEqual(srv.wait_exit(5), 0)

    def test_non_reader_does_not_hold_shutdown(self):
        # A client that never reads, with a stuffed queue (8 MB sent to
        # it: more than the kernel buffers): the server gives up on it
        # after at most 5 s and exits 0; the others get everything.
        cfg = {"buffers": {"output_limit": 64 * 1024 * 1024}}
        n = 8000
        with ct.Server(cfg) as srv:
            talker, reader = srv.room(2)
            stuck = srv.client(rcvbuf=4096)
            for x in (talker, reader):
                x.expect("* %s joined" % stuck.name)
            pad = "s" * 990
            for start in range(0, n, 100):
                talker.send("".join("s%04d %s\n" % (i, pad)
                                    for i in range(start, start + 100)))
                last = "[%s]: s%04d %s" % (talker.name, start + 99, pad)
                talker.read_until(last, timeout=10)
                reader.read_until(last, timeout=10)
            # the stuck client is still online: its queue is just large
            talker.sendline("who")
            talker.expect("* online (3):")
            talker.read_until("*   %s %s" % (stuck.name, stuck.name))
            t0 = time.monotonic()
            srv.signal(signal.SIGTERM)
            for x in (talker, reader):
                x.expect(NOTICE, timeout=3)
            for x in (talker, reader):
                self.assertEqual(x.expect_closed(timeout=7.5), [])
            code = srv.wait_exit(7.5)
            elapsed = time.monotonic() - t0
            self.assertEqual(code, 0)
            self.assertLess(elapsed, 7.5)
            sys.stderr.write("exit %.2fs after SIGTERM\n" % elapsed)
            stuck.close()


if __name__ == "__main__":
    unittest.main()
