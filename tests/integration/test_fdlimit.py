#!/usr/bin/env python3
"""The descriptor limit: max_clients is fitted to RLIMIT_NOFILE at startup
and on reload (the soft limit raised toward the hard one, else a log line
and a lower cap that is enforced with "! server full"), and when accept()
fails with EMFILE all the same, the listener rests instead of spinning,
logs once per pause, and resumes by itself when descriptors free up."""

import os
import re
import resource
import signal
import socket
import time
import unittest

import chatdtest as ct

NOFILE = resource.RLIMIT_NOFILE
SPARE = 16  # CHATD_FD_SPARE
PAUSE_RX = re.compile(r"accept: Too many open files; pausing new "
                      r"connections for 1 s")


def open_fds(pid):
    return sorted(int(f) for f in os.listdir("/proc/%d/fd" % pid))


def soft_limit(pid):
    return resource.prlimit(pid, NOFILE)[0]


def cpu_seconds(pid):
    """utime + stime of a process, in seconds, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FitTest(unittest.TestCase):

    def test_soft_limit_raised_toward_hard(self):
        cfg = {"server": {"max_clients": 1000}}
        with ct.Server(cfg, rlimits={NOFILE: (64, 4096)}) as srv:
            m = srv.wait_log(r"raised the descriptor limit \(RLIMIT_NOFILE\) "
                             r"from 64 to (\d+) for max_clients 1000")
            base = len(open_fds(srv.pid))
            self.assertEqual(int(m.group(1)), 1000 + base + SPARE)
            self.assertEqual(soft_limit(srv.pid), int(m.group(1)))
            self.assertNotIn("serving at most", srv.log_text())
            a = srv.client()
            a.sendline("hi")
            a.expect("[%s]: hi" % a.name)

    def test_raised_as_far_as_the_hard_limit_goes(self):
        cfg = {"server": {"max_clients": 1000}}
        with ct.Server(cfg, rlimits={NOFILE: (40, 100)}) as srv:
            srv.wait_log(r"raised the descriptor limit \(RLIMIT_NOFILE\) "
                         r"from 40 to 100 ")
            m = srv.wait_log(r"max_clients 1000 needs \d+ descriptors but the "
                             r"limit \(RLIMIT_NOFILE\) is 100 \(hard limit "
                             r"100\); serving at most (\d+) clients")
            base = len(open_fds(srv.pid))
            self.assertEqual(int(m.group(1)), 100 - base - SPARE)

    def test_cap_enforced(self):
        cfg = {"server": {"max_clients": 1000}}
        with ct.Server(cfg, rlimits={NOFILE: (64, 64)}) as srv:
            m = srv.wait_log(r"max_clients 1000 needs (\d+) descriptors but "
                             r"the limit \(RLIMIT_NOFILE\) is 64 \(hard limit "
                             r"64\); serving at most (\d+) clients")
            base = len(open_fds(srv.pid))
            cap = int(m.group(2))
            self.assertEqual(int(m.group(1)), 1000 + base + SPARE)
            self.assertEqual(cap, 64 - base - SPARE)
            self.assertGreater(cap, 10)
            # many clients at once: the cap joins, one more is refused
            cs = [srv.client() for _ in range(cap)]
            self.assertEqual(cs[-1].online_count, cap)
            extra = ct.Client(srv.port)
            extra.expect("! server full")
            extra.expect_closed()
            # the room still works, and a leave frees a place
            cs[0].sendline("exit")
            cs[0].read_until("* bye")
            cs[0].expect_closed()
            cs[1].read_until("* %s left" % cs[0].name)
            deadline = time.monotonic() + 3
            while True:
                c = ct.Client(srv.port)
                first = c.line()
                if first.startswith("* welcome"):
                    break
                self.assertEqual(first, "! server full")
                c.close()
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
            self.assertNotRegex(srv.log_text(), PAUSE_RX)

    def test_reload_fits_again(self):
        cfg = {"server": {"max_clients": 10}}
        with ct.Server(cfg, rlimits={NOFILE: (64, 64)}) as srv:
            self.assertNotIn("serving at most", srv.log_text())
            with open(srv.config_path) as f:
                text = f.read().replace("max_clients = 10",
                                        "max_clients = 500")
            ct.write_file(srv.config_path, text)
            srv.signal(signal.SIGHUP)
            m = srv.wait_log(r"max_clients 500 needs \d+ descriptors but the "
                             r"limit \(RLIMIT_NOFILE\) is 64 \(hard limit "
                             r"64\); serving at most (\d+) clients")
            srv.wait_log(r"reload done")
            self.assertGreater(int(m.group(1)), 10)


class EmfileTest(unittest.TestCase):

    def test_accept_emfile_backs_off(self):
        with ct.Server({"server": {"max_clients": 100}}) as srv:
            a, b, c = srv.room(3)
            # Leave chatd no descriptor to spare: accept() fails with EMFILE
            fds = open_fds(srv.pid)
            self.assertEqual(fds, list(range(len(fds))), "descriptors "
                             "are not dense: %r" % fds)
            hard = resource.prlimit(srv.pid, NOFILE)[1]
            resource.prlimit(srv.pid, NOFILE, (len(fds), hard))
            waiting = [socket.create_connection((srv.host, srv.port))
                       for _ in range(2)]
            srv.wait_log(PAUSE_RX)
            cpu0, t0 = cpu_seconds(srv.pid), time.monotonic()
            time.sleep(2.5)
            cpu = cpu_seconds(srv.pid) - cpu0
            wall = time.monotonic() - t0
            # a spin detector, not a performance assertion
            self.assertLess(cpu, 0.3 * wall, "chatd used %.2f s of CPU in "
                            "%.2f s while accept() failed" % (cpu, wall))
            pauses = len(PAUSE_RX.findall(srv.log_text()))
            self.assertGreaterEqual(pauses, 2)
            self.assertLessEqual(pauses, 5, "more than once per second")
            # those online are served meanwhile
            a.sendline("still here")
            for x in (a, b, c):
                x.expect("[%s]: still here" % a.name)
            # one leaves: its descriptor lets one waiting client in
            c.sendline("exit")
            c.expect("* bye")
            c.expect_closed()
            joined = []
            deadline = time.monotonic() + 5
            for s in waiting:
                s.settimeout(0.1)
            while not joined and time.monotonic() < deadline:
                for s in waiting:
                    try:
                        data = s.recv(4096)
                    except socket.timeout:
                        continue
                    if data.startswith(b"* welcome "):
                        joined.append(s)
            self.assertEqual(len(joined), 1, "one of the waiting clients "
                             "gets the freed descriptor")
            a.read_until(lambda l: l.endswith(" joined"))
            # descriptors come back: the other one is let in by itself
            resource.prlimit(srv.pid, NOFILE, (len(fds) + 10, hard))
            other = [s for s in waiting if s is not joined[0]][0]
            other.settimeout(5)
            data = b""
            while b"* welcome " not in data:
                chunk = other.recv(4096)
                self.assertTrue(chunk, "closed instead of welcomed")
                data += chunk
            a.read_until(lambda l: l.endswith(" joined"))
            for s in waiting:
                s.close()
            d = srv.client()
            a.read_until("* %s joined" % d.name)
            self.assertTrue(srv.alive())


if __name__ == "__main__":
    unittest.main()
