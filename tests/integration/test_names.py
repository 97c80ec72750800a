#!/usr/bin/env python3
"""Names that cannot pass for the server or for another user: refused
prefixes, ':' and brackets, invisible characters, and names that differ
only by case or compatibility form (Duke, duke, Ｄｕｋｅ) being one name;
look-alikes (UTS #39 skeletons, restriction level, identifier profile)."""

import unittest

import chatdtest as ct

FULLWIDTH_DUKE = "\uff24\uff55\uff4b\uff45"


class NamesTest(unittest.TestCase):

    def setUp(self):
        self.srv = ct.Server().start()
        self.addCleanup(self.srv.kill)

    def room(self, n):
        return self.srv.room(n)

    def rename(self, c, name, *others, old=None):
        c.sendline("rename|" + name)
        c.expect("* you are now " + name)
        for o in others:
            o.expect("* %s is now %s" % (old or c.name, name))

    def sync(self, sender, name, *others):
        """A chat line everyone gets: nothing else was queued before it."""
        sender.sendline("sync")
        for c in (sender,) + others:
            c.expect("[%s]: sync" % name)

    def test_case_and_width_are_one_name(self):
        a, b, c = self.room(3)
        self.rename(a, "Duke", b, c)
        for other in ("duke", "DUKE", "dUkE", FULLWIDTH_DUKE):
            with self.subTest(name=other):
                b.sendline("rename|" + other)
                b.expect("! name is taken")
        # the holder leaves: the name is free in any form
        a.sendline("exit")
        a.expect("* bye")
        a.expect_closed()
        b.expect("* Duke left")
        c.expect("* Duke left")
        self.rename(b, FULLWIDTH_DUKE, c)
        c.sendline("rename|duke")
        c.expect("! name is taken")
        self.sync(b, FULLWIDTH_DUKE, c)

    def test_own_name_in_another_form(self):
        a, b = self.room(2)
        self.rename(a, "duke", b)
        # the holder may change the form of its own name; others are told
        self.rename(a, "Duke", b, old="duke")
        self.rename(a, FULLWIDTH_DUKE, b, old="Duke")
        # the same form again: only the sender hears of it
        a.sendline("rename|" + FULLWIDTH_DUKE)
        a.expect("* you are now " + FULLWIDTH_DUKE)
        self.sync(a, FULLWIDTH_DUKE, b)
        a.sendline("who")
        a.expect("* online (2):")
        a.expect("*   %s %s" % (FULLWIDTH_DUKE, a.name))
        a.expect("*   %s %s" % (b.name, b.name))

    def test_composed_and_decomposed_are_one_name(self):
        a, b = self.room(2)
        self.rename(a, "Jos\u00e9", b)
        b.sendline("rename|JOSE\u0301")
        b.expect("! name is taken")
        b.sendline("rename|\ufb01x")     # the ligature fi
        b.expect("* you are now \ufb01x")
        a.expect("* %s is now \ufb01x" % b.name)
        a.sendline("rename|FIX")
        a.expect("! name is taken")
        self.sync(a, "Jos\u00e9", b)

    def test_lookalikes_of_another_user_are_taken(self):
        a, b = self.room(2)
        self.rename(a, "alice", b)
        for other in ("\u0430lice", "aIice", "a1ice", "ALICE"):
            with self.subTest(name=other):
                b.sendline("rename|" + other)
                b.expect_match(r"! (name is taken|name mixes scripts)")
        self.sync(a, "alice", b)

    def test_lookalikes_refused(self):
        """The look-alikes that once passed: an address, the notice and
        error prefixes, blanks, brackets and pipes, small capitals, runs
        of combining marks."""
        a, b = self.room(2)
        addr = b.name.rsplit(":", 1)
        refused = {
            addr[0] + "\ua789" + addr[1]: "name contains ':'",
            addr[0] + "\u2236" + addr[1]: "name contains ':'",
            addr[0] + "\u02d0" + addr[1]: "name contains ':'",
            addr[0] + "\u0589" + addr[1]: "name contains ':'",
            addr[0] + "\ua4fd" + addr[1]: "name contains ':'",
            "\u2217alice": "name starts with '*'",
            "\u204ealice": "name starts with '*'",
            "\u01c3alice": "name starts with '!'",
            "\u1d00\u029f\u026a\u1d04\u1d07":
                "name contains U+1D00, which names may not hold",
            "\u2800": "name contains U+2800, which names may not hold",
            "alice,\u2800bob": "name contains U+2800, which names may not "
                               "hold",
            "x" + "".join(chr(0x300 + i) for i in range(15)):
                "name has too many combining marks in a row",
            "\u23a1bob\u23a6": "name contains U+23A1, which names may not "
                               "hold",
            "\u1438bob\u1433": "name contains a bracket",
            "bob\u2223x": "name contains U+2223, which names may not hold",
        }
        for name, why in refused.items():
            with self.subTest(name=name):
                a.sendline("rename|" + name)
                a.expect("! " + why)
        self.sync(a, a.name, b)
        a.sendline("who")
        a.expect("* online (2):")

    def test_refused(self):
        a, b = self.room(2)
        cases = [
            ("*Duke", "! name starts with '*'"),
            ("*", "! name starts with '*'"),
            ("\uff0aDuke", "! name starts with '*'"),
            ("!Duke", "! name starts with '!'"),
            ("\uff01Duke", "! name starts with '!'"),
            ("Du:ke", "! name contains ':'"),
            ("Duke:", "! name contains ':'"),
            ("Duke\uff1a", "! name contains ':'"),
            ("[Duke]", "! name contains a bracket"),
            ("Duke]", "! name contains a bracket"),
            ("(Duke)", "! name contains a bracket"),
            ("{Duke}", "! name contains a bracket"),
            ("<Duke>", "! name contains a bracket"),
            ("\uff3bDuke\uff3d", "! name contains a bracket"),
            ("\u3010Duke\u3011", "! name contains a bracket"),
            ("Du\u200bke", "! name contains an invisible character"),
            ("Du\u200dke", "! name contains an invisible character"),
            ("\u202eekuD", "! name contains an invisible character"),
            ("Duke\u00ad", "! name contains an invisible character"),
            ("Du\u00a0ke", "! name contains a space"),
            ("Du\u3000ke", "! name contains a space"),
            ("\u0301Duke", "! name starts with a combining mark"),
            ("Duke\ue000", "! name contains an unassigned or private-use "
                           "character"),
            ("Du\uff5cke", "! name contains '|'"),
        ]
        for name, want in cases:
            with self.subTest(name=name):
                a.sendline("rename|" + name)
                a.expect(want)
        # nobody else heard of it, and a is unchanged
        self.sync(a, a.name, b)
        a.sendline("who")
        a.expect("* online (2):")
        a.expect("*   %s %s" % (a.name, a.name))

    def test_allowed_punctuation(self):
        a, b = self.room(2)
        for name in ("a*b", "wow!", "x#1", "@home", "J\u00fcrgen",
                     "\u2764\ufe0f", "\u675c\u514b"):
            with self.subTest(name=name):
                self.rename(a, name, b)
                a.name = name
        self.sync(a, a.name, b)

    def test_no_impersonation_of_chat_or_notices(self):
        # Every line a chosen name can make starts as the server's own
        # formats say, and the name cannot close the "[name]:" frame.
        a, b = self.room(2)
        for name in ("b]:x", "*x", "!x", "x]", ":x"):
            a.sendline("rename|" + name)
            self.assertTrue(a.line().startswith("! name "))
        self.sync(a, a.name, b)

    def test_plugin_find_folds(self):
        plugin = (
            'chat.command("find", "find|<name>", function(user, name)\n'
            '  local u = chat.find(name or "")\n'
            '  user:send("found " .. (u and u.name or "nobody"))\n'
            'end)\n')
        with ct.Server(plugins={"50-find.lua": plugin}) as srv:
            a = srv.client()
            b = srv.client()
            a.expect("* %s joined" % b.name)
            a.sendline("rename|Duke")
            a.expect("* you are now Duke")
            b.expect("* %s is now Duke" % a.name)
            for q in ("Duke", "duke", "DUKE", FULLWIDTH_DUKE):
                b.sendline("find|" + q)
                b.expect("found Duke")
            b.sendline("find|Dukes")
            b.expect("found nobody")
            # default names are found as they are, in any case
            b.sendline("find|" + b.name)
            b.expect("found " + b.name)
            b.send(b"find|\xff\n")
            b.expect("found nobody")


if __name__ == "__main__":
    unittest.main()
