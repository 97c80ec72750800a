#!/usr/bin/env python3
"""Upgrading the binary under a full room (SIGUSR2, chatd -u).

A room of N clients (env CHATD_UPGRADE_N, default 200) in mid-conversation
is upgraded to another copy of the build (env CHATD_UPGRADE_TO: a second
build of the tree, default the same binary): lines in flight both ways,
one partial line typed, one client that reads nothing so that chatd holds
output for it.  Nobody is disconnected, every line owed arrives exactly
once and in order, names and `who` are unchanged, the pid changed.  A new
binary that exits at once, one that hangs, and a new plugin that does not
load leave the room served by the old process.  TLS clients, whose
connections cannot move, are told to reconnect and closed in order
(close_notify) while the plain ones stay; the TLS listener moves."""

import os
import re
import signal
import socket
import threading
import time
import unittest

import chatdtest as ct

N = int(os.environ.get("CHATD_UPGRADE_N", "200"))
NEW = os.environ.get("CHATD_UPGRADE_TO") or ct.CHATD
SENDERS = min(20, N - 2)	# clients that talk during the upgrade
PER_BATCH = 3		# lines each sends before, during and after
NOTICE = re.compile(r"\* server upgraded to chatd \S+")
RECONNECT = "* server upgrading; please reconnect"
LEFT = "* %s left (server upgrade; reconnect)"
BIG = "x" * 900
FLOOD_AFTER = 30	# lines left in chatd's queue (27 KB, output_limit 256 KB)
FLOOD = """
chat.command {
	name = "_flood",
	args = 2,
	usage = "<n>|<from>",
	run = function(user, n, from)
		for i = tonumber(from), tonumber(from) + tonumber(n) - 1 do
			user:send("flood " .. i .. " %s")
		end
	end,
}
""" % BIG


def kernel_bytes(server_port, client_port):
    """Bytes the kernel holds between chatd and a loopback client: the
    server socket's send queue and the client's receive queue."""
    total = 0
    with open("/proc/net/tcp") as f:
        for row in f.readlines()[1:]:
            fields = row.split()
            local = int(fields[1].split(":")[1], 16)
            remote = int(fields[2].split(":")[1], 16)
            tx, rx = (int(x, 16) for x in fields[4].split(":"))
            if (local, remote) == (server_port, client_port):
                total += tx
            elif (local, remote) == (client_port, server_port):
                total += rx
    return total


def chat_lines(lines):
    """The chat lines of a client's history, the upgrade notice included."""
    return [l for l in lines if l.startswith("[") or NOTICE.fullmatch(l)]


class UpgradeTest(unittest.TestCase):

    def server(self, config=None, **kw):
        """A chatd started from a copy of its own, which the test may
        replace as a package would."""
        d = ct.mkdtemp()
        binary = os.path.join(d, "chatd")
        ct.shutil.copy(ct.CHATD, binary)
        return ct.Server(config=config, binary=binary, **kw)

    def who(self, c, n):
        """The `who` list as c reads it: the count line and n users."""
        c.sendline("who")
        return [c.line() for _ in range(n + 1)]

    def settle(self, clients, senders, tag):
        """Each sender sends tag last; every client reads until it has
        all of them.  Returns the lines each read."""
        for s in senders:
            s.sendline(tag)
        seen = {}
        for c in clients:
            want = set("[%s]: %s" % (s.name, tag) for s in senders)
            seen[c] = c.read_until(lambda l: want.discard(l) is None and
                                   not want, timeout=30)
        return seen

    def fill_kernel(self, srv, slow):
        """Have chatd send the slow client (which reads nothing) lines
        until the kernel's buffers are full both ends, then FLOOD_AFTER
        more: those wait in chatd's queue.  Returns the lines sent."""
        sent, last, still = 0, -1, 0
        for _ in range(400):
            slow.sendline("_flood|10|%d" % sent)
            sent += 10
            time.sleep(0.02)
            now = kernel_bytes(srv.port, slow.sock.getsockname()[1])
            still = still + 1 if now == last else 0
            last = now
            if still == 3:
                break
        else:
            self.fail("the kernel took %d lines for a client that does "
                      "not read" % sent)
        for _ in range(FLOOD_AFTER // 10):
            slow.sendline("_flood|10|%d" % sent)
            sent += 10
        return sent

    def test_room_upgraded(self):
        # who_page: who lists the whole room, compared before and after.
        cfg = {"server": {"max_clients": N + 16}, "room": {"who_page": 1000}}
        with self.server(cfg, plugins={"50-flood.lua": FLOOD}) as srv:
            clients = [srv.client() for _ in range(N)]
            first = clients[:1]
            self.settle(clients, first, "everyone is here")
            for i, c in enumerate(clients[:10]):
                c.sendline("rename|user%d" % i)
                c.read_until("* you are now user%d" % i)
                c.name = "user%d" % i
            self.settle(clients, first, "renamed")
            who_before = self.who(clients[-1], N)
            self.assertEqual(who_before[0], "* online (%d):" % N)

            # One client reads nothing and has output waiting in chatd.
            slow = ct.Client(srv.port, host=srv.host, rcvbuf=4096)
            slow.join()
            self.settle(clients, first, "slow joined")
            flooded = self.fill_kernel(srv, slow)

            partial = clients[-2]		# not a sender
            partial.send("a partial li")
            senders = clients[:SENDERS]
            sent = {c: [] for c in senders}

            def batch(what):
                for c in senders:
                    for j in range(PER_BATCH):
                        text = "%s %s %d" % (c.name, what, j)
                        c.sendline(text)
                        sent[c].append(text)

            # While the upgrade runs, the senders keep talking, a round
            # every millisecond, so that lines reach the old process, its
            # frozen sockets during the hand-over, and the new one.
            done = threading.Event()

            def talk():
                j = 0
                while not done.is_set():
                    for c in senders:
                        text = "%s during %d" % (c.name, j)
                        c.sendline(text)
                        sent[c].append(text)
                    j += 1
                    time.sleep(0.001)

            talker = threading.Thread(target=talk)
            batch("before")
            old_pid = srv.pid
            t0 = time.monotonic()
            try:
                ok, line = srv.upgrade(20, during=talker.start)
            finally:
                done.set()
                talker.join(10)
            t_up = time.monotonic() - t0
            self.assertTrue(ok, line)
            self.assertEqual(srv.old_status, 0)
            self.assertNotEqual(srv.pid, old_pid)
            self.assertTrue(srv.alive())
            self.assertRegex(line, r"queued output for [1-9]")
            partial.sendline("ne, finished")
            batch("after")
            seen = self.settle(clients, senders + [partial], "all sent")

            # The same conversation for everyone: each line once, each
            # sender's lines in the order sent, one upgrade notice.
            ref = chat_lines(seen[clients[0]])
            notices = [l for l in ref if NOTICE.fullmatch(l)]
            self.assertEqual(len(notices), 1, notices)
            for c in clients:
                self.assertEqual(chat_lines(seen[c]), ref,
                                 "%s saw another conversation" % c.name)
                self.assertFalse(c.eof, c.name)
            for c, texts in sent.items():
                mine = [l for l in ref if l.startswith("[%s]: " % c.name)]
                self.assertEqual(mine, ["[%s]: %s" % (c.name, t)
                                        for t in texts + ["all sent"]])
            self.assertEqual(
                [l for l in ref if l.startswith("[%s]: " % partial.name)],
                ["[%s]: a partial line, finished" % partial.name,
                 "[%s]: all sent" % partial.name])

            # The slow client: every flood line once and in order, then
            # the same conversation.
            got = slow.read_until(lambda l: l == ref[-1], timeout=30)
            floods = [l for l in got if l.startswith("flood ")]
            self.assertEqual(floods, ["flood %d %s" % (i, BIG)
                                      for i in range(flooded)])
            self.assertEqual(chat_lines(got),
                             ["[%s]: slow joined" % clients[0].name] + ref)

            # Names and seats are unchanged.
            self.assertEqual(self.who(clients[-1], N + 1),
                             ["* online (%d):" % (N + 1)] + who_before[1:] +
                             ["*   %s %s" % (slow.name, slow.name)])
            m = re.search(r"handed to pid \d+ in ([\d.]+) ms", line)
            print("%d clients handed over in %s ms (the old process's "
                  "count); %.0f ms from SIGUSR2 until the test saw the "
                  "old one exit; %d lines sent meanwhile" %
                  (N + 1, m.group(1), t_up * 1e3,
                   sum(t.startswith(c.name + " during")
                       for c, ts in sent.items() for t in ts)))
            for c in clients + [slow]:
                c.close()
            self.assertEqual(srv.stop(), 0)

    def test_tls_clients_told_and_closed(self):
        """Plain clients are handed over; TLS clients hear the room's
        notice, get a TLS close_notify (no clear text, no reset), and
        the others see each leave once; the TLS listener moves and a new
        TLS client joins the new process."""
        with self.server(ca=ct.TestCA()) as srv:
            p1, p2 = srv.client(), srv.client()
            p1.expect("* %s joined" % p2.name)
            t1 = srv.tls_client()
            t2 = srv.tls_client()
            for o in (p1, p2):
                o.expect("* %s joined" % t1.name)
                o.expect("* %s joined" % t2.name)
            t1.expect("* %s joined" % t2.name)
            # A TLS handshake not begun: it has no user, and is cut.
            hs = socket.create_connection((srv.host, srv.tls_port))
            # Accepted by the old process in the turn that reads this
            # line at the latest: the listener was readable first.
            self.assertEqual(self.who(p1, 4)[0], "* online (4):")
            p2.send("typed before ")
            told = {}

            def closed():
                # Read the goodbye while the old process drains it: it
                # waits for these clients to close before it exits.
                for t in (t1, t2):
                    told[t.name] = t.expect_closed(timeout=10)

            ok, line = srv.upgrade(20, during=closed)
            self.assertTrue(ok, line)
            self.assertEqual(srv.old_status, 0)
            for t in (t1, t2):
                # The other TLS user leaves at the same time: a
                # broadcast skips users on their way out.
                self.assertEqual(told[t.name], [RECONNECT], t.name)
                self.assertIsNone(t.tls_error, t.name)
                self.assertFalse(t.reset, t.name)
            srv.wait_log(r"upgrade: 2 clients of a transport that cannot "
                         r"be handed over \(TLS\) told to reconnect")
            srv.wait_log(r"listening on [^ ]+:%d for tls \(handed over\)"
                         % srv.tls_port)
            hs.settimeout(5)
            self.assertEqual(hs.recv(100), b"")
            hs.close()
            p2.sendline("and after")
            for p in (p1, p2):
                seen = p.read_until("[%s]: typed before and after"
                                    % p2.name)
                for t in (t1, t2):
                    self.assertEqual(seen.count(LEFT % t.name), 1, seen)
                self.assertEqual(len([l for l in seen
                                      if NOTICE.fullmatch(l)]), 1, seen)
            self.assertEqual(self.who(p1, 2)[0], "* online (2):")
            t3 = srv.tls_client()
            for p in (p1, p2):
                p.expect("* %s joined" % t3.name)
            t3.sendline("over tls again")
            for o in (p1, p2, t3):
                o.expect("[%s]: over tls again" % t3.name)
            for c in (p1, p2, t3):
                c.close()
            self.assertEqual(srv.stop(), 0)

    def test_tls_listener_without_tls_rolls_back(self):
        """A new process whose configuration lost [tls] cannot serve the
        TLS listener handed to it: the upgrade rolls back.  The TLS users
        were told before the hand-over, and reconnect to the old one."""
        with self.server(ca=ct.TestCA()) as srv:
            p = srv.client()
            t = srv.tls_client()
            p.expect("* %s joined" % t.name)
            cfg = dict(srv.config)
            del cfg["tls"]
            srv.write_config(cfg)
            told = []
            ok, line = srv.upgrade(20, during=lambda: told.extend(
                t.expect_closed(timeout=10)))
            self.assertFalse(ok, line)
            why = (r"a tls listener \(127\.0\.0\.1:%d\) was handed over, "
                   r"and \[tls\] here sets up none" % srv.tls_port)
            self.assertRegex(line, why)	# the new process's, or:
            srv.wait_log(r"chatd\[%d\] error: upgrade failed: hand-over "
                         r"to pid \d+: the new process refused the state: "
                         % srv.pid + why)
            self.assertEqual(told, [RECONNECT])
            self.assertIsNone(t.tls_error)
            p.expect(LEFT % t.name)
            t2 = srv.tls_client()
            p.expect("* %s joined" % t2.name)
            t2.sendline("back on the old one")
            p.expect("[%s]: back on the old one" % t2.name)
            p.close()
            t2.close()
            self.assertEqual(srv.stop(), 0)

    def last_echo(self, c, tag, n):
        """Read c's own lines tag-0 .. tag-(n-1) back; the time the last
        one came."""
        c.read_until("[%s]: %s-%d" % (c.name, tag, n - 1), timeout=30)
        return time.monotonic()

    def test_line_rate_carried(self):
        """A client that spent its burst of lines is still at its rate in
        the new process: the tokens move, they are not refilled."""
        rate, burst = 5, 5
        with self.server({"limits": {"lines_per_second": rate,
                                     "burst": burst}}) as srv:
            c = srv.client()
            for i in range(2 * burst):
                c.sendline("pre-%d" % i)
            # the last one is read once the bucket is empty
            empty = self.last_echo(c, "pre", 2 * burst)
            ok, line = srv.upgrade(20)
            self.assertTrue(ok, line)
            c.expect_match(NOTICE.pattern)
            n = 2 * burst
            for i in range(n):
                c.sendline("post-%d" % i)
            done = self.last_echo(c, "post", n)
            # From an empty bucket n lines take n / rate seconds; a bucket
            # refilled at the upgrade would let `burst` through at once.
            self.assertGreaterEqual(done - empty, n / rate - 0.3,
                                    "the lines came too fast: the rate "
                                    "tokens did not move")
            c.close()
            self.assertEqual(srv.stop(), 0)

    def test_byte_rate_carried(self):
        """Likewise for [limits] bytes_per_second: a client that used its
        bytes stays limited after the upgrade."""
        rate, size = 2000, 100	# a line of 100 bytes; 20 a second
        with self.server({"limits": {"bytes_per_second": rate}}) as srv:
            c = srv.client()
            body = "y" * (size - 10)
            for i in range(40):	# twice the bucket (a second's worth)
                c.sendline("pre-%d %s" % (i, body))
            c.read_until(lambda l: l.startswith("[%s]: pre-39 " % c.name),
                         timeout=30)
            empty = time.monotonic()
            ok, line = srv.upgrade(20)
            self.assertTrue(ok, line)
            c.expect_match(NOTICE.pattern)
            sent = 0
            for i in range(40):
                text = "post-%d %s" % (i, body)
                c.sendline(text)
                sent += len(text) + 1
            c.read_until(lambda l: l.startswith("[%s]: post-39 " % c.name),
                         timeout=30)
            done = time.monotonic()
            self.assertGreaterEqual(done - empty, sent / rate - 0.3,
                                    "the bytes came too fast: the byte-rate "
                                    "tokens did not move")
            c.close()
            self.assertEqual(srv.stop(), 0)

    def test_connect_rate_carried(self):
        """An address that spent its connect burst is refused by the new
        process too, until its bucket refills at connects_per_second."""
        with self.server({"limits": {"max_per_ip": 0,
                                     "connects_per_second": 1,
                                     "connect_burst": 4}}) as srv:
            for _ in range(4):
                srv.client().close()
            spent = time.monotonic()
            ok, line = srv.upgrade(20)
            self.assertTrue(ok, line)
            accepted = 0
            for _ in range(4):
                c = ct.Client(srv.port)
                first = c.line()
                if first != "! connecting too often from your address":
                    accepted += 1
                c.close()
            elapsed = time.monotonic() - spent
            # A refilled bucket would take all four; this one has the
            # tokens of the seconds since it was spent, no more.
            self.assertLess(elapsed, 3.0, "too slow to tell")
            self.assertLessEqual(accepted, int(elapsed) + 1,
                                 "accepted %d connects %.1f s after the "
                                 "burst was spent" % (accepted, elapsed))
            self.assertEqual(srv.stop(), 0)

    def rollback(self, script, why, config=None):
        """Upgrade to `script` as the new binary: the old process logs
        `why` and serves on."""
        with self.server(config) as srv:
            a, b = srv.client(), srv.client()
            a.expect("* %s joined" % b.name)
            b.send("typed before ")
            srv.install_binary(script)
            ok, line = srv.upgrade(20)
            self.assertFalse(ok, line)
            self.assertRegex(line, why)
            self.assertIsNone(srv.upgraded_pid)
            self.assertTrue(srv.alive())
            b.sendline("and after")
            a.expect("[%s]: typed before and after" % b.name)
            b.expect("[%s]: typed before and after" % b.name)
            c = srv.client()
            a.expect("* %s joined" % c.name)
            a.close()
            b.close()
            c.close()
            self.assertEqual(srv.stop(), 0)

    def test_rollback_exits(self):
        d = ct.mkdtemp()
        script = ct.write_file(os.path.join(d, "exits"),
                               "#!/bin/sh\nexit 3\n")
        self.rollback(script, r"exited before it was ready; it exited "
                      r"with status 3")

    def test_rollback_hangs(self):
        d = ct.mkdtemp()
        script = ct.write_file(os.path.join(d, "hangs"),
                               "#!/bin/sh\nexec sleep 60\n")
        self.rollback(script, r"not ready within upgrade_timeout \(1 s\)",
                      {"server": {"upgrade_timeout": 1}})

    def test_rollback_bad_plugin(self):
        with self.server(plugins={"50-ok.lua": "-- fine\n"}) as srv:
            a = srv.client()
            ct.write_file(os.path.join(srv.plugin_dir, "50-ok.lua"),
                          "this is not lua\n")
            ok, line = srv.upgrade(20)
            self.assertFalse(ok, line)
            self.assertRegex(line, r"cannot start: .*50-ok\.lua:1:")
            a.ask("still here", "[%s]: still here" % a.name)
            a.close()
            self.assertEqual(srv.stop(), 0)

    def test_cli_and_twice(self):
        """chatd -u PID checks, signals and waits; a second upgrade hands
        over from the first new process."""
        with self.server() as srv:
            a = srv.client()
            a.ask("rename|ada", "* you are now ada")
            ct.subreaper()  # the new process is waited for here
            r = ct.run_chatd(["-c", srv.config_path, "-u", str(srv.pid)],
                             timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"handed over and exited")
            m = srv.wait_log(r"handed to pid (\d+)")
            srv.upgraded_pid = int(m.group(1))
            a.expect_match(NOTICE.pattern)
            ok, line = srv.upgrade(20)
            self.assertTrue(ok, line)
            a.expect_match(NOTICE.pattern)
            a.ask("who", "* online (1):", "*   ada %s" % a.name)
            bad = ct.run_chatd(["-c", "/nonexistent.ini", "-u",
                                str(srv.pid)])
            self.assertEqual(bad.returncode, 1)
            a.ask("still one", "[ada]: still one")
            a.close()
            self.assertEqual(srv.stop(), 0)

    def test_cli_rollback(self):
        """chatd -u reports a failed upgrade once the new process the
        running one started is gone, and the room is served on."""
        d = ct.mkdtemp()
        script = ct.write_file(os.path.join(d, "hangs"),
                               "#!/bin/sh\nexec sleep 60\n")
        with self.server({"server": {"upgrade_timeout": 2}}) as srv:
            a = srv.client()
            srv.install_binary(script)
            r = ct.run_chatd(["-c", srv.config_path, "-u", str(srv.pid)],
                             timeout=30)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertRegex(r.stderr, r"pid %d still serving: the new "
                             r"process it started is gone" % srv.pid)
            srv.wait_log(r"upgrade failed: the new chatd \(pid \d+\) was "
                         r"not ready within upgrade_timeout")
            a.ask("still here", "[%s]: still here" % a.name)
            a.close()
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    ct.main()
