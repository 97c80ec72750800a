#!/usr/bin/env python3
"""The open file limit: chatd raises its soft RLIMIT_NOFILE to fit
max_clients when the hard limit allows, and warns at startup, saying how
many clients fit, when it does not."""

import os
import re
import resource
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatdtest as ct  # noqa: E402

RESERVED = 16  # descriptors chatd keeps besides the clients'


class FdLimitTest(unittest.TestCase):

    def test_soft_limit_raised(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        clients = 100
        max_clients = 200
        if hard != resource.RLIM_INFINITY and hard < max_clients + RESERVED:
            self.skipTest("hard limit %d is below %d" %
                          (hard, max_clients + RESERVED))
        # chatd inherits a soft limit of 64: too few for 100 clients.
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        srv = ct.Server({"server": {"max_clients": max_clients}})
        try:
            srv.start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        self.addCleanup(srv.kill)
        srv.wait_log(r"info: open file limit raised from 64 to %d for "
                     r"max_clients = %d" % (max_clients + RESERVED,
                                            max_clients))
        room = [srv.client() for _ in range(clients)]
        last = room[-1]
        last.sendline("who")
        got = last.read_until(lambda l: l.startswith("*   " + last.name))
        self.assertEqual(got[0], "* online (%d):" % clients)
        for c in room:
            c.close()
        self.assertEqual(srv.stop(), 0)

    def test_warning_when_hard_limit_too_low(self):
        d = ct.mkdtemp()
        conf = ct.write_file(os.path.join(d, "chatd.ini"), ct.format_ini({
            "server": {"bind": "127.0.0.1", "port": 0, "max_clients": 1000},
            "lua": {"path": ct.PLUGINS}}))
        log_path = os.path.join(d, "chatd.log")

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
            ct._pdeathsig()

        with open(log_path, "wb") as log:
            proc = subprocess.Popen([ct.CHATD, "-c", conf],
                                    stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=log,
                                    preexec_fn=limit)
        self.addCleanup(lambda: proc.poll() is None and
                        (proc.kill(), proc.wait(5)))

        def read_log():
            with open(log_path) as f:
                return f.read()

        deadline = time.monotonic() + ct.START_TIMEOUT
        while not re.search(r"listening on \S+:(\d+)", read_log()):
            self.assertIsNone(proc.poll(), read_log())
            self.assertLess(time.monotonic(), deadline, read_log())
            time.sleep(0.05)
        text = read_log()
        self.assertIn("warn: open file limit is 48: about %d clients fit, "
                      "not max_clients = 1000; raise the limit (ulimit -n, "
                      "LimitNOFILE=) or lower max_clients\n" % (48 - RESERVED),
                      text)
        self.assertNotIn("raised", text)
        port = int(re.search(r"listening on \S+:(\d+)", text).group(1))
        # One more client than descriptors: accept() fails with EMFILE
        # and chatd pauses accepting instead of spinning.
        room = []
        for _ in range(48):
            room.append(ct.Client(port))
        deadline = time.monotonic() + 5
        while "accept: Too many open files; pausing" not in read_log():
            self.assertLess(time.monotonic(), deadline, read_log()[-2000:])
            time.sleep(0.05)
        for c in room:
            c.close()
        proc.terminate()
        self.assertEqual(proc.wait(10), 0)


if __name__ == "__main__":
    unittest.main()
