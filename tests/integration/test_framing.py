#!/usr/bin/env python3
"""Line framing and text cleaning: LF and CRLF, one byte at a time,
several lines per segment, over-long lines, blank lines, control
characters, invalid UTF-8."""

import time
import unittest

import chatdtest as ct

MAX_LINE = 64


class FramingTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = ct.Server({"buffers": {"max_line": MAX_LINE}})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        code = cls.srv.stop()
        cls.srv.kill()
        assert code == 0, "chatd exit status %r" % code

    def setUp(self):
        self.assertTrue(self.srv.alive(), "chatd died")
        self.a = self.srv.client()
        self.b = self.srv.client()
        self.a.expect("* %s joined" % self.b.name)

    def tearDown(self):
        # Leave with "exit" and wait for the close, so the next test starts
        # in an empty room (a pending partial line is ended first).
        for c in (self.a, self.b):
            try:
                c.send(b"\nexit\n")
                c.read_until("* bye")
                c.expect_closed()
            finally:
                c.close()

    def both(self, text, sender=None):
        sender = sender or self.a
        for c in (self.a, self.b):
            c.expect("[%s]: %s" % (sender.name, text))

    def marker(self, text="marker"):
        """Send a chat line; it must be the next line both clients get."""
        self.a.sendline(text)
        self.both(text)

    # -- line endings --------------------------------------------------
    def test_lf(self):
        self.a.send(b"hello lf\n")
        self.both("hello lf")

    def test_crlf(self):
        self.a.send(b"hello crlf\r\n")
        self.both("hello crlf")

    def test_mixed_endings_in_one_segment(self):
        self.a.send(b"one\ntwo\r\nthree\nfour\r\n")
        for t in ("one", "two", "three", "four"):
            self.both(t)

    def test_cr_inside_line_is_not_a_terminator(self):
        # A lone CR is a control character: removed, not a line break.
        self.a.send(b"ab\rcd\n")
        self.both("abcd")

    def test_only_last_cr_dropped(self):
        self.a.send(b"x\r\r\n")
        self.both("x")

    # -- segmentation --------------------------------------------------
    def test_one_byte_at_a_time(self):
        data = b"slow line, byte by byte\r\n"
        for i in range(len(data)):
            self.a.send(data[i:i + 1])
            time.sleep(0.01)
        self.both("slow line, byte by byte")
        data = "ünïcödé 杜克\n".encode()
        for i in range(len(data)):
            self.a.send(data[i:i + 1])
            time.sleep(0.01)
        self.both("ünïcödé 杜克")

    def test_partial_line_waits_for_terminator(self):
        self.a.send(b"first half, ")
        self.b.no_line(0.3)
        self.a.send(b"second half")
        self.b.no_line(0.2)
        self.a.send(b"\r")
        self.b.no_line(0.2)
        self.a.send(b"\n")
        self.both("first half, second half")

    def test_several_lines_in_one_segment(self):
        lines = ["line %d" % i for i in range(30)]
        self.a.send("".join(l + "\n" for l in lines).encode())
        for l in lines:
            self.both(l)

    def test_lines_split_across_segments(self):
        self.a.send(b"al")
        time.sleep(0.05)
        self.a.send(b"pha\nbe")
        time.sleep(0.05)
        self.a.send(b"ta\r")
        time.sleep(0.05)
        self.a.send(b"\ngamma\n")
        for t in ("alpha", "beta", "gamma"):
            self.both(t)

    def test_big_burst_of_lines(self):
        lines = ["burst %04d %s" % (i, "y" * 40) for i in range(500)]
        self.a.send("".join(l + "\r\n" for l in lines).encode())
        for l in lines:
            self.a.expect("[%s]: %s" % (self.a.name, l))
        for l in lines:
            self.b.expect("[%s]: %s" % (self.a.name, l))

    # -- max_line ------------------------------------------------------
    def test_exactly_max_line_lf(self):
        text = "a" * MAX_LINE
        self.a.send(text.encode() + b"\n")
        self.both(text)

    def test_exactly_max_line_crlf(self):
        text = "b" * MAX_LINE
        self.a.send(text.encode() + b"\r\n")
        self.both(text)

    def test_exactly_max_line_crlf_split(self):
        # The terminator arriving later, or split between CR and LF, does
        # not make a max_line line too long.
        text = "m" * MAX_LINE
        self.a.send(text.encode())
        time.sleep(0.05)
        self.a.send(b"\r")
        time.sleep(0.05)
        self.a.send(b"\n")
        self.both(text)
        self.a.send(text.encode() + b"\r")
        time.sleep(0.05)
        self.a.send(b"\n")
        self.both(text)
        self.a.send(text.encode())
        time.sleep(0.05)
        self.a.send(b"\n")
        self.both(text)
        # one more byte is too long (when the error is sent, before or at
        # the terminator, is not specified)
        self.a.send(text.encode() + b"+")
        time.sleep(0.05)
        self.a.send(b"\r\n")
        self.a.expect("! line too long (max %d bytes)" % MAX_LINE)
        self.marker()

    def test_max_line_counts_bytes(self):
        text = "é" * (MAX_LINE // 2)  # 2 bytes each: exactly MAX_LINE
        self.a.sendline(text)
        self.both(text)
        self.a.sendline("é" * (MAX_LINE // 2) + "x")
        self.a.expect("! line too long (max %d bytes)" % MAX_LINE)
        self.marker()

    def test_one_over_max_line(self):
        self.a.send(b"c" * (MAX_LINE + 1) + b"\n")
        self.a.expect("! line too long (max %d bytes)" % MAX_LINE)
        self.marker()  # nothing else reached b; a still connected

    def test_one_over_max_line_crlf(self):
        self.a.send(b"c" * (MAX_LINE + 1) + b"\r\n")
        self.a.expect("! line too long (max %d bytes)" % MAX_LINE)
        self.marker()

    def test_long_line_rest_discarded(self):
        # Sent in pieces; the tail arrives after the refusal.
        self.a.send(b"d" * (MAX_LINE + 10))
        time.sleep(0.1)
        self.a.send(b"e" * 200)
        time.sleep(0.1)
        self.a.send(b"tail of the long line\n")
        self.a.expect("! line too long (max %d bytes)" % MAX_LINE)
        self.a.sendline("next")
        self.both("next")
        self.b.no_line(0.2)

    def test_huge_line_one_error(self):
        self.a.send(b"f" * 100000 + b"\nafter\n")
        self.a.expect("! line too long (max %d bytes)" % MAX_LINE)
        self.both("after")
        self.a.no_line(0.2)

    def test_long_then_short_in_one_segment(self):
        self.a.send(b"g" * 300 + b"\r\nshort\r\n" + b"h" * 65 + b"\n" +
                    b"i" * MAX_LINE + b"\n")
        self.a.expect("! line too long (max %d bytes)" % MAX_LINE)
        self.both("short", )
        self.a.expect("! line too long (max %d bytes)" % MAX_LINE)
        self.both("i" * MAX_LINE)

    def test_long_line_does_not_drop_connection(self):
        for _ in range(5):
            self.a.send(b"z" * 1000 + b"\n")
            self.a.expect("! line too long (max %d bytes)" % MAX_LINE)
        self.marker()

    # -- blank lines ---------------------------------------------------
    def test_blank_lines_send_nothing(self):
        self.a.send(b"\n\r\n   \n\t\n \t \r\n")
        self.b.no_line(0.3)
        self.a.no_line(0.1)
        self.marker("after blanks")

    def test_blank_lines_before_chat_in_one_segment(self):
        self.a.send(b"\n \n\t\t\nreal\n\n")
        self.both("real")
        self.marker()

    # -- control characters --------------------------------------------
    def test_control_characters_removed(self):
        cases = [
            (b"a\x01b\x02c", "abc"),
            (b"x\x7fy", "xy"),
            (b"nul\x00byte", "nulbyte"),
            (b"\x1b[31mred\x1b[0m", "[31mred[0m"),
            (b"bell\x07!", "bell!"),
            ("c1\u0080\u0085\u009fend".encode(), "c1end"),
            (b"tab\tkept", "tab\tkept"),
            ("keep\u00a0nbsp \u00a1".encode(), "keep\u00a0nbsp \u00a1"),
            (b"\x0b\x0cvt ff", "vt ff"),
        ]
        for raw, want in cases:
            with self.subTest(raw=raw):
                self.a.send(raw + b"\n")
                self.both(want)

    def test_line_of_only_controls_is_blank(self):
        self.a.send(b"\x01\x02\x03\n")
        self.a.send(b" \x01\t\x7f \n")
        self.a.send("\u0085\u0090".encode() + b"\n")
        self.a.send(b"\x00\n")
        self.b.no_line(0.3)
        self.marker()

    # -- invalid UTF-8 -------------------------------------------------
    def test_invalid_utf8_replaced(self):
        # (0xFF is telnet's IAC, taken out of the input: test_telnet.py)
        cases = [
            (b"a\xfeb", "a\ufffdb"),
            (b"\xe2\x82x", "\ufffdx"),
            (b"\xc0\xaf", "\ufffd\ufffd"),
            (b"\x80", "\ufffd"),
            (b"x\x80\x80y", "x\ufffd\ufffdy"),
            (b"\xf0\x9f\x98!", "\ufffd!"),
            (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),       # surrogate
            (b"\xf4\x90\x80\x80", "\ufffd" * 4),          # > U+10FFFF
            (b"\xe0\x80\xaf", "\ufffd" * 3),              # overlong
            (b"\xfe\xfd", "\ufffd\ufffd"),
            (b"end\xe2", "end\ufffd"),
            (b"\xe2\x82\xac ok", "\u20ac ok"),
        ]
        for raw, want in cases:
            with self.subTest(raw=raw):
                # Python's decoder follows the same "maximal subpart" rule.
                self.assertEqual(raw.decode("utf-8", "replace"), want)
                self.a.send(raw + b"\n")
                self.both(want)

    def test_invalid_utf8_with_crlf(self):
        self.a.send(b"q\xe2\x82\r\n")
        self.both("q\ufffd")


class DefaultMaxLineTest(unittest.TestCase):
    """The default max_line is 1024."""

    def test_default_max_line(self):
        with ct.Server() as srv:
            a = srv.client()
            a.send(b"k" * 1024 + b"\r\n")
            a.expect("[%s]: %s" % (a.name, "k" * 1024))
            a.send(b"k" * 1025 + b"\n")
            a.expect("! line too long (max 1024 bytes)")
            a.sendline("still here")
            a.expect("[%s]: still here" % a.name)
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
