#!/usr/bin/env python3
"""Log lines of one kind are rate-limited and summarised ([log] repeats):
connection churn writes `repeats` connect and leave lines per 10 s, then
one line each saying how many more there were and where the last came
from; with repeats = 0 every line is written."""

import re
import unittest

import chatdtest as ct

N = 30


class LogRepeatsTest(unittest.TestCase):

    def churn(self, srv):
        for _ in range(N):
            c = srv.client()
            c.close()

    def test_churn_summarised(self):
        with ct.Server({"log": {"repeats": 5}}) as srv:
            mark = srv.mark()
            self.churn(srv)
            srv.wait_log(r"\d+ more connections in the last 1\d s, the "
                         r"last from 127\.0\.0\.1:\d+", timeout=15,
                         after=mark)
            srv.wait_log(r"\d+ more departures in the last 1\d s",
                         timeout=5, after=mark)
            log = srv.log_text()[mark:]
            connects = len(re.findall(r"client \d+ connected from", log))
            self.assertEqual(connects, 5, log[-2000:])
            more = int(re.search(r"(\d+) more connections", log).group(1))
            self.assertEqual(connects + more, N)
            self.assertEqual(srv.stop(), 0)

    def test_zero_writes_every_line(self):
        with ct.Server({"log": {"repeats": 0}}) as srv:
            self.churn(srv)
            srv.stop()
            self.assertEqual(len(re.findall(r"client \d+ connected from",
                                            srv.log_text())), N)


if __name__ == "__main__":
    unittest.main()
