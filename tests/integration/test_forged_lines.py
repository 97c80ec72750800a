#!/usr/bin/env python3
"""Chat text that would forge lines: line and paragraph separators become
spaces, bidi controls are balanced within the text they were typed in,
and a line of nothing visible (zero-width characters, blanks that are not
ASCII) is a blank line: nothing happens."""

import unittest

import chatdtest as ct

RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"


class ForgedLinesTest(unittest.TestCase):

    def setUp(self):
        self.srv = ct.Server().start()
        self.addCleanup(self.srv.kill)
        self.eve, self.bob = self.srv.room(2)

    def says(self, text, shown):
        self.eve.sendline(text)
        for c in (self.eve, self.bob):
            c.expect("[%s]: %s" % (self.eve.name, shown))

    def test_separators_become_spaces(self):
        self.says("hello\u2028* admin joined", "hello * admin joined")
        self.says("a\u2029b\u2028\u2028c", "a b  c")

    def test_bidi_stays_in_the_text(self):
        self.says(RLO + "olleh", RLO + "olleh" + PDF)
        self.says(LRI + RLO + "x", LRI + RLO + "x" + PDF + PDI)
        self.says("a" + PDF + PDI + "b", "ab")
        self.says(RLO + "a" + PDF + "b", RLO + "a" + PDF + "b")

    def test_invisible_lines_are_blank(self):
        for text in ("\u200b", "\u200b\u200c\u2060", "\u2800", "\u3164",
                     "\u00a0 \u3000", RLO + PDF, "\ufeff"):
            with self.subTest(text=text):
                self.eve.sendline(text)
        self.says("after", "after")   # nothing came before it


if __name__ == "__main__":
    unittest.main()
