#!/usr/bin/env python3
"""Clients chatd gives up on release their kernel memory at once.

A peer that does not read leaves the server's socket with a full send
buffer.  Closed with a plain close(), that socket stays in the kernel
(FIN_WAIT1, an orphan) with its unsent bytes for minutes, counted by no
limit of chatd's, while the peer reconnects at once.  chatd closes such
connections with a reset: their send queues must be gone from the kernel
as soon as chatd has let them go, while the peers still hold their end."""

import socket
import sys
import time
import unittest

import chatdtest as ct

SLOW = 8


def held(srv, clients):
    """Bytes the kernel still queues from chatd's port to these clients."""
    ports = {c.sock.getsockname()[1] for c in clients}
    return sum(q for _, rport, _, q in ct.kernel_sockets(srv.port)
               if rport in ports)


def wait_released(test, srv, clients, timeout):
    deadline = time.monotonic() + timeout
    while True:
        left = held(srv, clients)
        if left == 0:
            return
        if time.monotonic() > deadline:
            test.fail("the kernel still holds %d bytes for %d clients "
                      "chatd let go: %r" % (left, len(clients),
                                            ct.kernel_sockets(srv.port)))
        time.sleep(0.1)


class KernelMemoryTest(unittest.TestCase):

    def test_dropped_non_readers_release_send_buffers(self):
        cfg = {"buffers": {"output_limit": 65536}}
        with ct.Server(cfg) as srv:
            flooder = srv.client()
            slow = []
            for _ in range(SLOW):
                s = srv.client(rcvbuf=4096)   # reads its welcome only
                flooder.expect("* %s joined" % s.name)
                slow.append(s)
            mem0 = ct.sockstat_tcp_kb()
            pad = "x" * 400
            want = {"* %s dropped (too slow)" % s.name for s in slow}
            seen = set()
            sent, peak = 0, 0
            while want - seen and sent < 20000:
                batch = "".join("f%05d %s\n" % (sent + i, pad)
                                for i in range(100))
                flooder.send(batch)
                sent += 100
                last = "[%s]: f%05d %s" % (flooder.name, sent - 1, pad)
                for l in flooder.read_until(last, timeout=10):
                    if l.startswith("* "):
                        seen.add(l)
                peak = max(peak, held(srv, slow))
            self.assertEqual(want - seen, set(), "not all dropped after "
                             "%d lines" % sent)
            mem1 = ct.sockstat_tcp_kb()
            # The peers keep their sockets open and unread, as an
            # attacker would: nothing of chatd's side may stay behind.
            wait_released(self, srv, slow, 3)
            sys.stderr.write("%d non-readers: kernel send queues peaked at "
                             "%d bytes, 0 after the drop; host TCP memory "
                             "%d -> %d -> %d KiB\n"
                             % (SLOW, peak, mem0, mem1,
                                ct.sockstat_tcp_kb()))
            self.assertGreater(peak, SLOW * 16384)
            for s in slow:
                s.expect_closed(timeout=5, partial_ok=True)
            flooder.sendline("still here")
            flooder.expect("[%s]: still here" % flooder.name)
            self.assertEqual(srv.stop(), 0)

    def test_half_closed_non_reader_released(self):
        """A peer that sends EOF and never reads: chatd's goodbye and the
        chat queued before cannot be delivered, so its socket goes with a
        reset instead of lingering orphaned."""
        with ct.Server() as srv:
            flooder = srv.client()
            slow = srv.client(rcvbuf=4096)
            flooder.expect("* %s joined" % slow.name)
            pad = "y" * 900
            for i in range(100):   # 90 KB: under output_limit
                flooder.sendline("h%03d %s" % (i, pad))
            flooder.read_until("[%s]: h099 %s" % (flooder.name, pad))
            self.assertGreater(held(srv, [slow]), 32768)
            slow.sock.shutdown(socket.SHUT_WR)
            flooder.expect("* %s left" % slow.name)
            wait_released(self, srv, [slow], ct.DEFAULT_TIMEOUT + 2)
            self.assertEqual(srv.stop(), 0)

    def test_goodbye_still_delivered(self):
        """A client that reads gets its goodbye and an orderly close."""
        with ct.Server() as srv:
            c = srv.client()
            c.sendline("exit")
            c.expect("* bye")
            c.expect_closed()
            self.assertFalse(c.reset)
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
