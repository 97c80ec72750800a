#!/usr/bin/env python3
"""Per-sender order across nodes: every user of every node gets every
line of every sender, once, in the order it was sent; lines of different
senders may interleave differently on different nodes (no total order is
promised), but nothing is lost or doubled."""

import re
import unittest

import chatdtest as ct

LINES = 400


class Order(unittest.TestCase):

    def test_per_sender_order(self):
        with ct.Cluster(3) as cl:
            senders = [cl.join(i, "s%d" % i) for i in range(3)]
            readers = [cl.join(i, "r%d" % i) for i in range(3)]
            # All at once: each sender's lines go out in one write.
            for s in senders:
                s.send("".join("%s line %d\n" % (s.name, k)
                               for k in range(LINES)))
            rx = re.compile(r"\[(s\d)\]: s\d line (\d+)$")
            for u in senders + readers:
                seen = {s.name: [] for s in senders}
                for _ in range(3 * LINES):
                    line = u.line(timeout=20)
                    m = rx.match(line)
                    self.assertIsNotNone(m, "%s got %r" % (u.name, line))
                    seen[m.group(1)].append(int(m.group(2)))
                for s in senders:
                    self.assertEqual(seen[s.name], list(range(LINES)),
                                     "%s: the lines of %s" % (u.name, s.name))
            for u, extra in zip(cl.users, cl.sync()):
                self.assertEqual(extra, [], "%s: lines twice" % u.name)

    def test_private_lines_keep_their_place(self):
        """A sender's chat lines and private messages (msg, to a user of
        another node) reach that user in the order they were sent."""
        with ct.Cluster(2, plugins=ct.contrib_sources(["msg"])) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            out = []
            for k in range(100):
                if k % 3 == 0:
                    out.append("msg|bob|private %d" % k)
                else:
                    out.append("public %d" % k)
            a.send("".join(l + "\n" for l in out))
            want = ["* [alice -> you]: private %d" % k if k % 3 == 0
                    else "[alice]: public %d" % k for k in range(100)]
            self.assertEqual([b.line(timeout=10) for _ in want], want)
            for u, extra in zip((a, b), cl.sync()):
                if u is b:
                    self.assertEqual(extra, [], "bob: more lines")

    def test_notices_keep_their_place(self):
        """A sender's rename and its next line arrive in that order
        everywhere, and a line sent before leaving comes before the leave
        notice."""
        with ct.Cluster(2) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            c = cl.join(0, "carol")
            a.send("before\nrename|ada\nafter\nquit\n")
            cl.forget(a)
            for u in (b, c):
                u.expect("[alice]: before")
                u.expect("* alice is now ada")
                u.expect("[ada]: after")
                u.expect("* ada left")


if __name__ == "__main__":
    ct.main()
