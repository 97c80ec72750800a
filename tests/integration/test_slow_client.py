#!/usr/bin/env python3
"""A client that never reads while another floods: it is dropped once its
queue passes output_limit, everyone else gets every line in order, and the
server's memory stays bounded."""

import sys
import time
import unittest

import chatdtest as ct

LINES = 3000        # at least this many flood lines
MAX_LINES = 40000   # and more until the drop (the kernel may buffer MBs)
BATCH = 200
RSS_LIMIT_KB = 100 * 1024


class SlowClientTest(unittest.TestCase):

    def flood(self, srv, flooder, readers, texts_for, until, rss=None):
        """flooder sends batches of lines (texts_for(i)) until `until()`
        and at least LINES lines, at most MAX_LINES; every reader reads
        each batch.  Returns (lines sent, {reader: chat lines},
        {reader: other lines})."""
        got = {c: [] for c in readers}
        notices = {c: [] for c in readers}
        sent = 0
        prefix = "[%s]: " % flooder.name
        while sent < MAX_LINES and (sent < LINES or not until(notices)):
            batch = [texts_for(i) for i in range(sent, sent + BATCH)]
            flooder.send("".join(t + "\n" for t in batch).encode())
            sent += BATCH
            last = prefix + batch[-1]
            for c in readers:
                for l in c.read_until(last, timeout=10):
                    (got if l.startswith(prefix) else notices)[c].append(l)
            if rss is not None:
                rss.append(srv.rss_kb())
        return sent, got, notices

    def test_one_event_over_output_limit_keeps_fast_clients(self):
        """A line longer than output_limit, and a 'who' longer than it,
        reach readers that keep up; nobody is dropped as too slow."""
        cfg = {"buffers": {"output_limit": 1024, "max_line": 4000}}
        with ct.Server(cfg) as srv:
            clients = srv.room(12)
            text = "y" * 3000
            clients[0].send(text + "\n")
            for c in clients:
                c.expect("[%s]: %s" % (clients[0].name, text))
            clients[1].send("who\n")
            clients[1].expect("* online (12):")
            for o in clients:
                clients[1].expect("*   %s %s" % (o.name, o.name))
            clients[2].send("still here\n")
            for c in clients:
                c.expect("[%s]: still here" % clients[2].name)
            self.assertNotIn("too slow", srv.log_text())

    def test_non_reader_dropped(self):
        cfg = {"buffers": {"output_limit": 65536}}
        with ct.Server(cfg) as srv:
            flooder, reader = srv.room(2)
            slow = srv.client(rcvbuf=4096)  # reads its welcome, then never
            for c in (flooder, reader):
                c.expect("* %s joined" % slow.name)
            rss0 = srv.rss_kb()
            pad = "x" * 180
            dropped = "* %s dropped (too slow)" % slow.name
            rss = []
            t0 = time.monotonic()
            sent, got, notices = self.flood(
                srv, flooder, (flooder, reader),
                lambda i: "flood %05d %s" % (i, pad),
                lambda n: all(dropped in n[c] for c in n), rss)
            elapsed = time.monotonic() - t0
            want = ["[%s]: flood %05d %s" % (flooder.name, i, pad)
                    for i in range(sent)]
            sys.stderr.write("%d lines in %.2fs, RSS %d -> max %d kB\n"
                             % (sent, elapsed, rss0, max(rss)))
            # the reading clients got every line, in order
            for c in (flooder, reader):
                self.assertEqual(len(got[c]), sent)
                self.assertTrue(got[c] == want, "lines lost or reordered "
                                "for %s" % c.name)
            # the non-reader was dropped, and both others were told once
            for c in (flooder, reader):
                self.assertEqual(notices[c], [dropped],
                                 "notices for %s after %d lines"
                                 % (c.name, sent))
            # memory stayed bounded
            self.assertLess(max(rss), RSS_LIMIT_KB,
                            "RSS grew from %d kB to %d kB"
                            % (rss0, max(rss)))
            # the slow client's socket ends: what it gets is a prefix of
            # the flood (the last line may be cut), then the close
            rest = slow.expect_closed(timeout=10, partial_ok=True)
            flood_part = [l for l in rest if l.startswith("[")]
            self.assertLess(len(flood_part), sent)
            self.assertTrue(flood_part == want[:len(flood_part)],
                            "the slow client got lines out of order")
            self.assertEqual([l for l in rest if not l.startswith("[")], [])
            # the room goes on with two
            reader.sendline("who")
            reader.expect("* online (2):")
            reader.expect("*   %s %s" % (flooder.name, flooder.name))
            reader.expect("*   %s %s" % (reader.name, reader.name))
            flooder.sendline("after")
            flooder.expect("[%s]: after" % flooder.name)
            reader.expect("[%s]: after" % flooder.name)
            self.assertTrue(srv.alive())
            self.assertEqual(srv.stop(), 0)

    def test_two_slow_clients_renamed(self):
        # The notice uses the current name; several slow clients at once.
        cfg = {"buffers": {"output_limit": 32768}}
        with ct.Server(cfg) as srv:
            flooder = srv.client()
            slow1 = srv.client(rcvbuf=4096)
            flooder.expect("* %s joined" % slow1.name)
            slow1.sendline("rename|snail")
            slow1.expect("* you are now snail")
            flooder.expect("* %s is now snail" % slow1.name)
            slow2 = srv.client(rcvbuf=4096)
            flooder.expect("* %s joined" % slow2.name)
            slow1.expect("* %s joined" % slow2.name)
            need = ["* snail dropped (too slow)",
                    "* %s dropped (too slow)" % slow2.name]
            pad = "y" * 200
            sent, got, notices = self.flood(
                srv, flooder, (flooder,), lambda i: "f%05d %s" % (i, pad),
                lambda n: all(x in n[flooder] for x in need))
            self.assertEqual(sorted(notices[flooder]), sorted(need),
                             "after %d lines" % sent)
            self.assertEqual(len(got[flooder]), sent)
            flooder.sendline("who")
            flooder.expect("* online (1):")
            flooder.expect("*   %s %s" % (flooder.name, flooder.name))
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
