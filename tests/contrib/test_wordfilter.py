#!/usr/bin/env python3
"""contrib/plugins/wordfilter.lua: masking or dropping words in chat."""

import unittest

import chatdtest as ct


def words(words, action=None):
    sec = {"words": words}
    if action is not None:
        sec["action"] = action
    return {"plugin.wordfilter": sec}


class WordfilterTest(unittest.TestCase):

    def start(self, sections=None):
        srv = ct.ContribServer(["wordfilter"], sections).start()
        self.addCleanup(srv.stop)
        return srv

    def room(self, srv, sender, text, want):
        """sender says text; everyone must get [sender]: want."""
        sender.sendline(text)
        for c in srv.joined:
            c.expect("[%s]: %s" % (sender.name, want))

    def test_config_check(self):
        for sections in (None, words("heck"), words("heck", "drop"),
                         words("heck", "Mask")):
            with self.subTest(sections=sections):
                rc, out, err = ct.check_config(["wordfilter"], sections)
                self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)

    def test_bad_action_refused(self):
        rc, out, err = ct.check_config(["wordfilter"], words("heck", "Kick"))
        self.assertEqual((rc, out), (1, ""))
        # Lua shortens a long chunk name to "...tail"; chatd then puts
        # the whole path in front.
        self.assertRegex(err.splitlines()[-1],
                         r"^\S*/wordfilter\.lua:(?: \S*/wordfilter\.lua:)?"
                         r"\d+: \[plugin\.wordfilter\] "
                         r"action must be mask or drop, not 'Kick'$")

    def test_mask(self):
        srv = self.start(words(" heck ,DARN,, frak"))
        alice = srv.join("alice")
        srv.join("bob")
        # Any case, whole words only, same length.
        self.room(srv, alice, "Heck, that darn thing. heckle, DaRn!",
                  "****, that **** thing. heckle, ****!")
        self.room(srv, alice, "heck", "****")
        # Letters and digits join words; "_" does not.
        self.room(srv, alice, "frakking heck_ xheck 2heck heck2",
                  "frakking ****_ xheck 2heck heck2")
        # A line without a word passes as it is.
        self.room(srv, alice, "nothing to see", "nothing to see")

    def test_lookalikes_and_invisibles(self):
        """A zero-width space, a Cyrillic letter, fullwidth letters or a
        capital I for l do not hide a word: words are compared by fold."""
        srv = self.start(words("heck, hell"))
        alice = srv.join("alice")
        srv.join("bob")
        for text in ("he\u200bck", "h\u0435ck", "\uff48\uff45\uff43\uff4b",
                     "heII", "he\u2060ck!"):
            with self.subTest(text=text):
                self.room(srv, alice, "oh %s there" % text,
                          "oh %s there" % ("*" * len(text.rstrip("!"))
                                           + ("!" if text.endswith("!")
                                              else "")))
        self.room(srv, alice, "heckle hello", "heckle hello")

    def test_lookalike_dropped(self):
        srv = self.start(words("heck", "drop"))
        alice = srv.join("alice")
        bob = srv.join("bob")
        alice.ask("h\u0435ck", "! message blocked")
        self.room(srv, alice, "fine", "fine")
        bob.no_line(0.2)

    def test_non_ascii(self):
        srv = self.start(words("café, heck"))
        alice = srv.join("alice")
        # One asterisk per character, not per byte.
        self.room(srv, alice, "un café noir", "un **** noir")
        # Non-ASCII letters are part of words.
        self.room(srv, alice, "cafés éheck hecké", "cafés éheck hecké")

    def test_punctuation_in_words(self):
        srv = self.start(words("f-word, 100%, a.b"))
        alice = srv.join("alice")
        self.room(srv, alice, "the f-word!", "the ******!")
        self.room(srv, alice, "it is 100% true", "it is **** true")
        # Pattern characters are literal: "a.b" does not match "axb".
        self.room(srv, alice, "axb a.b", "axb ***")

    def test_overlapping_words(self):
        srv = self.start(words("heck, oh heck"))
        alice = srv.join("alice")
        self.room(srv, alice, "oh heck no", "******* no")

    def test_several_word_keys(self):
        srv = self.start({"plugin.wordfilter": {
            "words": "heck", "words2": "darn, heck", "words10": "frak",
            "wordsmith": "not, a, list"}})
        alice = srv.join("alice")
        self.room(srv, alice, "heck darn frak not a list",
                  "**** **** **** not a list")

    def test_long_line_many_matches(self):
        srv = self.start(dict(words(", ".join("w%d" % i
                                               for i in range(30)) + ", a"),
                              buffers={"max_line": 8192}))
        alice = srv.join("alice")
        self.room(srv, alice, " ".join(["a", "w29"] * 1000),
                  " ".join(["*", "***"] * 1000))
        self.assertNotIn("error", srv.log_text())

    def test_drop(self):
        srv = self.start(words("heck, darn", "drop"))
        alice = srv.join("alice")
        srv.join("bob")
        alice.ask("what the HECK", "! message blocked")
        srv.sync()              # bob got nothing before the marker
        self.room(srv, alice, "heckle is fine", "heckle is fine")

    def test_drop_action_ignores_case(self):
        srv = self.start(words("heck", "DROP"))
        alice = srv.join("alice")
        alice.ask("heck", "! message blocked")

    def test_unconfigured_passes_everything(self):
        srv = self.start()
        srv.wait_log(r"warn: lua: \S*/wordfilter\.lua:\d+: no "
                     r"\[plugin\.wordfilter\] words configured")
        alice = srv.join("alice")
        self.room(srv, alice, "heck darn", "heck darn")

    def test_commands_are_not_filtered(self):
        srv = self.start(words("heck"))
        alice = srv.join("alice")
        alice.ask("rename|heck", "* you are now heck")


if __name__ == "__main__":
    unittest.main(verbosity=2)
