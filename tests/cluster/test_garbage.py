#!/usr/bin/env python3
"""Bad data from Redis's side is logged and dropped, never a crash.

- A buggy or foreign publisher on the room's channel: messages that do
  not parse are dropped, with the log rate-limited; a line that parses is
  cleaned like any line before it reaches a socket.
- Something that is not Redis (or a broken proxy) on the Redis port,
  sending the replies that reach assert()s in Debian's hiredis 0.14.1: an
  array of one item, an integer first, an unsubscribe of two items, a
  stray integer on the subscriber, a reply no command asked for, nested
  arrays, a reply longer than 32 MiB.  chatd refuses each, logs why,
  serves its users meanwhile and tries again.
"""

import re
import socket
import threading
import time
import unittest

import chatdtest as ct

CHANNEL = b"chatd:{chatd}"


class GarbagePublisher(unittest.TestCase):

    def test_garbage_on_the_channel(self):
        with ct.Cluster(2) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            r = cl.redis.client()
            junk = [
                b"hello",
                b"",
                b"\xff\xfe\x00binary\x00",
                b"chatd1",
                b"chatd1 M",
                b"chatd1 M n9 0123456789abcdef 1 - -",
                b"chatd1 M n9 0123456789abcdef 0 - - seq zero",
                b"chatd1 M n9 0123456789ABCDEF 1 - - upper-case inc",
                b"chatd1 J n9 0123456789abcdef 1 7 0 1.2.3.4:5 *admin",
                b"chatd1 J n9 0123456789abcdef 2 7 0 1.2.3.4:5 a b",
                b"chatd1 J n9 0123456789abcdef 3 7 0 host:5 eve",
                b"chatd1 P n1 0123456789abcdef 1 n1 1 " + b"x" * (5 << 20),
                b"chatd1 H n9 0123456789abcdef 4 n1/xyz",
                b"chatd1 Q n9 0123456789abcdef 5",
            ]
            for j in junk:
                r.command("PUBLISH", CHANNEL, j)
            # 2000 more: the log says so in a line or two, not 2000
            for i in range(2000):
                r.send("PUBLISH", CHANNEL, "garbage %d" % i)
            for i in range(2000):
                r.reply()
            # A foreign publisher that speaks the format is heard, but
            # its line is cleaned like any other: no escape, no CR.
            r.command("PUBLISH", CHANNEL, b"chatd1 M xx 00000000000000aa "
                      b"1 - - [mallory]: \x1b[31mred\x1b[0m\rtext\x07")
            r.close()
            for u in (a, b):
                u.expect("[mallory]: [31mred[0mtext")
            for u, extra in zip((a, b), cl.sync()):
                self.assertEqual(extra, [], "%s got junk" % u.name)
            for n in cl.nodes:
                self.assertTrue(n.alive())
                log = n.log_text()
                drops = re.findall(r"cluster: dropped a message", log)
                self.assertGreaterEqual(len(drops), 1)
                self.assertLessEqual(len(drops), 3,
                                     "%s logged %d drops" % (n.node,
                                                             len(drops)))
            # the room is untouched
            b.ask("who", "* online (2):")
            self.assertEqual(sorted([b.line(), b.line()]), sorted(
                ["*   alice " + ct.sockname(a.sock),
                 "*   bob " + ct.sockname(b.sock)]))
            a.sendline("still here")
            b.expect("[alice]: still here")


class FakeRedis:
    """A listening socket that plays Redis badly: each connection reads
    the first command and answers with what `script(kind)` returns
    (kind "sub" or "cmd"), then keeps the connection open."""

    def __init__(self, script):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.script = script
        self.connections = 0
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,),
                             daemon=True).start()

    def serve(self, c):
        c.settimeout(5)
        data = b""
        try:
            while b"\r\n" not in data or data.count(b"\r\n") < 3:
                chunk = c.recv(65536)
                if not chunk:
                    return
                data += chunk
            kind = "sub" if b"SUBSCRIBE" in data else "cmd"
            for part in self.script(kind):
                c.sendall(part)
        except OSError:
            pass

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def confirm():
    return (b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n"
            % (len(CHANNEL), CHANNEL))


SHA = b"$40\r\n" + b"0" * 40 + b"\r\n"

SCENARIOS = {
    "an array of one item on the subscriber":
        lambda k: [b"*1\r\n$7\r\nmessage\r\n"] if k == "sub" else [],
    "an integer first in a pub/sub array":
        lambda k: [b"*3\r\n:1\r\n$1\r\nc\r\n$1\r\nx\r\n"] if k == "sub"
        else [],
    "an unsubscribe of two items":
        lambda k: [confirm(), b"*2\r\n$11\r\nunsubscribe\r\n$%d\r\n%s\r\n"
                   % (len(CHANNEL), CHANNEL)] if k == "sub" else [],
    "a stray integer on the subscriber":
        lambda k: [confirm(), b":5\r\n"] if k == "sub" else [],
    "a nested array on the subscriber":
        lambda k: [b"*3\r\n*1\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"]
        if k == "sub" else [],
    "a nil in a pub/sub array":
        lambda k: [b"*3\r\n$7\r\nmessage\r\n$-1\r\n$1\r\nx\r\n"]
        if k == "sub" else [],
    # eight SCRIPT LOADs, nine answers
    "a reply no command asked for":
        lambda k: [] if k == "sub" else [SHA * 8 + b"+EXTRA\r\n"],
    "an error on the subscriber":
        lambda k: [b"-NOPERM this user has no permissions\r\n"]
        if k == "sub" else [],
    "a reply of more than 32 MiB":
        lambda k: [b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$40000000\r\n"
                   % (len(CHANNEL), CHANNEL)] + [b"x" * (1 << 20)] * 34
        if k == "sub" else [],
}


class HostileServer(unittest.TestCase):

    def test_replies_that_hiredis_would_assert_on(self):
        for what, script in SCENARIOS.items():
            with self.subTest(what):
                self.one(what, script)

    def one(self, what, script):
        fake = FakeRedis(script)
        redis = ct.RedisServer()
        redis.port = fake.port	# the nodes are pointed at the fake
        node = ct.ClusterNode(redis, "n1", wait_up=False)
        try:
            node.start()
            m = node.wait_log(r"warn: cluster: Redis at \S+: (.*)",
                              timeout=10)
            self.assertRegex(m.group(1), r"refused a reply|Redis said|"
                             r"a reply of more than 32 MiB", what)
            print("  %s: %s" % (what, m.group(1)))
            # It tries again (after its back-off), and serves its users.
            deadline = time.monotonic() + 5
            while fake.connections < 4:
                self.assertLess(time.monotonic(), deadline,
                                "%s: no second attempt" % what)
                time.sleep(0.05)
            c = node.client()
            c.sendline("alive")
            c.expect("[%s]: alive" % c.name)
            self.assertTrue(node.alive(), what)
            # The input was bounded: nothing near 40 MB stays (ASan's
            # quarantine keeps freed memory resident for a while).
            limit = 512 if ct.is_sanitized() else 64
            self.assertLess(node.rss_kb(), limit * 1024, what)
        finally:
            node.stop()
            node.kill()
            fake.close()


if __name__ == "__main__":
    ct.main()
