#!/usr/bin/env python3
"""Telnet commands over a socket: IAC negotiation, subnegotiation, IAC IAC
and CR NUL are taken out of the input, also when a sequence is split
between two reads, and nobody else sees them as garbage."""

import time
import unittest

import chatdtest as ct

IAC, SB, SE = b"\xff", b"\xfa", b"\xf0"
WILL, WONT, DO, DONT = b"\xfb", b"\xfc", b"\xfd", b"\xfe"
NOP, AYT, IP = b"\xf1", b"\xf6", b"\xf4"
ECHO, SGA, TTYPE, NAWS = b"\x01", b"\x03", b"\x18", b"\x1f"


class TelnetTest(unittest.TestCase):

    def setUp(self):
        self.srv = ct.Server().start()
        self.addCleanup(self.srv.kill)
        self.a, self.b = self.srv.room(2)

    def said(self, text):
        """Both clients get a's chat line, and nothing before it."""
        for c in (self.a, self.b):
            c.expect("[%s]: %s" % (self.a.name, text))

    def send_split(self, data, cut):
        """Send data in two writes, cut at cut, with a pause between, so
        chatd reads them separately."""
        self.a.send(data[:cut])
        time.sleep(0.05)
        self.a.send(data[cut:])

    def test_negotiation_is_consumed(self):
        self.a.send(IAC + DO + ECHO + IAC + WILL + NAWS + b"hello" +
                    IAC + WONT + SGA + IAC + DONT + TTYPE + b" world\r\n")
        self.said("hello world")

    def test_subnegotiation_is_consumed(self):
        self.a.send(IAC + SB + NAWS + b"\x00\x50\x00\x18" + IAC + SE +
                    b"size" + IAC + SB + TTYPE + b"\x00xterm" + IAC + IAC +
                    b"\r\n" + IAC + SE + b" sent\n")
        self.said("size sent")

    def test_two_byte_commands_are_consumed(self):
        self.a.send(b"are" + IAC + AYT + b" you" + IAC + NOP + b" there" +
                    IAC + IP + b"?\n")
        self.said("are you there?")

    def test_iac_iac_is_a_repaired_byte(self):
        self.a.send(b"x" + IAC + IAC + b"y\n")
        self.said("x\ufffdy")

    def test_cr_nul_ends_a_line(self):
        self.a.send(b"first\r\x00second\r\x00")
        self.said("first")
        self.said("second")
        self.a.send(b"rename|Duke\r\x00")
        self.a.expect("* you are now Duke")
        self.b.expect("* %s is now Duke" % self.a.name)

    def test_split_at_every_position(self):
        data = (b"a" + IAC + DO + ECHO + IAC + SB + TTYPE + b"\x00vt" +
                IAC + IAC + IAC + SE + b"b" + IAC + IAC + b"c" + IAC + NOP +
                b"d\r\x00")
        for cut in range(1, len(data)):
            with self.subTest(cut=cut):
                self.send_split(data, cut)
                self.said("ab\ufffdcd")

    def test_many_clients_at_once(self):
        cs = self.srv.room(8)
        for c in (self.a, self.b):
            for n in cs:
                c.expect("* %s joined" % n.name)
        for i, c in enumerate(cs):
            c.send(IAC + DO + SGA + b"from" + IAC + AYT + (b" %d" % i) +
                   b"\r\x00")
        want = sorted("[%s]: from %d" % (c.name, i) for i, c in
                      enumerate(cs))
        for c in (self.a, self.b) + tuple(cs):
            got = [c.line() for _ in cs]
            self.assertEqual(sorted(got), want)


if __name__ == "__main__":
    unittest.main()
