#!/usr/bin/env python3
"""[server] show_addresses: off by default, a user's default name is
guest:ID rather than the address it connects from, and who lists names
only; nobody can choose a guest name.  On, the old rooms: addresses as
names and in who.  The log keeps the addresses either way."""

import re
import unittest

import chatdtest as ct

PRIVATE = {"server": {"show_addresses": None}}   # back to the default


class PrivacyTest(unittest.TestCase):

    def join(self, srv):
        c = ct.Client(srv.port)
        c.join(guest=True)
        return c

    def test_default_hides_addresses(self):
        with ct.Server(PRIVATE) as srv:
            a = self.join(srv)
            b = self.join(srv)
            a.expect("* %s joined" % b.name)
            for c in (a, b):
                self.assertNotIn("127.0.0.1", " ".join(c.history))
            b.sendline("who")
            b.expect("* online (2):")
            b.expect("*   %s" % a.name)
            b.expect("*   %s" % b.name)
            b.sendline("rename|" + a.name)
            b.expect("! name contains ':'")
            b.sendline("rename|guest")
            b.expect("* you are now guest")
            a.expect("* %s is now guest" % b.name)
            self.assertTrue(re.search(r"client \d+ connected from "
                                      r"127\.0\.0\.1:\d+", srv.log_text()))
            self.assertEqual(srv.stop(), 0)

    def test_on_shows_them(self):
        with ct.Server({"server": {"show_addresses": True}}) as srv:
            a = srv.client()
            a.sendline("who")
            a.expect("* online (1):")
            a.expect("*   %s %s" % (a.name, a.name))
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
