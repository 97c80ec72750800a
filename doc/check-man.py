"""The manual pages: built, lint-clean, and in step with the code.

Run by "make check" (automake exports CHATD and CHATD_SRCDIR; the pages
are next to the chatd binary, in doc/).  Checks that:

- every page was generated and no @placeholder@ is left in it;
- chatd.ini(5) has an entry for every key of the table in src/config.c;
- chatd-lua(7) names every chat.* function, user method and event of
  the Lua bridge (src/api.c, src/plugin.c, src/command.c, src/timer.c);
- the messages of the C core and every reason a name is refused
  (src/listener.c, src/client.c, src/script.c, src/text.c, src/name.c,
  src/registry.c) are in chatd(8) and chatd-lua(7);
- conf/chatd.ini sets every key to its default, with a comment;
- every key's entry in chatd.ini(5) gives its default, its range (for
  numbers, as in the table) and whether SIGHUP applies it (as the table's
  live flag says);
- mandoc -T lint finds nothing at level warning or above, and groff -ww
  (what man(1) runs) prints no warning but for lines it cannot break,
  which depend on the length of the install paths (each fails when the
  tool is not installed; CI installs both).

Exit 0 = pass.
"""

import os
import re
import subprocess
import sys
import unittest

import chatdtest as ct

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("CHATD_SRCDIR") or os.path.dirname(HERE)
CHATD = os.environ.get("CHATD") or os.path.join(os.getcwd(), "chatd")
BUILDDIR = os.path.dirname(os.path.abspath(CHATD))

PAGES = ["chatd.8", "chatd.ini.5", "chatd-lua.7"]


def source(name):
    with open(os.path.join(SRCDIR, "src", name), encoding="utf-8") as f:
        return f.read()


def page(name):
    with open(os.path.join(BUILDDIR, "doc", name), encoding="utf-8") as f:
        # Drop the zero-width escape, so "\&[server\&]" reads "[server]".
        return f.read().replace("\\&", "")


def c_strings(text):
    """The C string literals of text, in order."""
    return re.findall(r'"((?:[^"\\\n]|\\.)*)"', text)


class ManPages(unittest.TestCase):

    def test_generated(self):
        for name in PAGES:
            text = page(name)
            self.assertTrue(text.startswith(".\\\""), name)
            left = re.findall(r"@[A-Za-z_]+@", text)
            self.assertEqual(left, [], "%s: placeholders left" % name)

    def test_config_keys(self):
        text = page("chatd.ini.5")
        keys = re.findall(r'\{\s*"(\w+)",\s*"(\w+)",\s*CONF_', source(
            "config.c"))
        self.assertGreater(len(keys), 10)
        for section, key in keys:
            self.assertTrue('"[%s]"' % section in text,
                            "[%s] has no subsection" % section)
            self.assertTrue(
                re.search(r"\n\.It Cm %s Pq " % re.escape(key), text),
                "[%s] %s is not documented" % (section, key))

    def test_key_entries(self):
        text = page("chatd.ini.5")
        table = re.findall(
            r'\{\s*"(\w+)",\s*"(\w+)",\s*(CONF_\w+),\s*(-?\w+),\s*(-?\w+),'
            r'\s*(NULL|"[^"]*"),\s*OFF\(\w+\),\s*([01]),', source("config.c"))
        self.assertGreater(len(table), 10)
        for section, key, ctype, lo, hi, default, live in table:
            # The key's entry in its own section: [server] and [metrics]
            # both have a bind and a port.
            sub = re.search(r'\n\.Ss "\[%s\]"\n(.*?)(?=\n\.Ss |\n\.Sh )'
                            % re.escape(section), text, re.S)
            self.assertIsNotNone(sub, "[%s] has no subsection" % section)
            m = re.search(r"\n\.It Cm %s Pq \w+\n(.*?)(?=\n\.It Cm |\n\.El)"
                          % re.escape(key), "\n" + sub.group(1), re.S)
            self.assertIsNotNone(m, "[%s] %s has no entry" % (section, key))
            entry = m.group(1)
            what = "[%s] %s" % (section, key)
            if default == "NULL":
                self.assertIn("No default", entry, what)
            else:
                self.assertRegex(entry, r"Default:\s+(\.Ql )?%s\b"
                                 % re.escape(default.strip('"')), what)
            if ctype in ("CONF_INT", "CONF_PORT"):
                self.assertIn("Range: %d to %d." % (int(lo.rstrip("LL")),
                                                    int(hi.rstrip("LL"))),
                              entry, what)
            if live == "1":
                self.assertRegex(entry, r"Applied on\n\.Dv SIGHUP", what)
                self.assertNotIn("Needs a restart", entry, what)
            else:
                self.assertIn("Needs a restart.", entry, what)
                self.assertNotIn("Applied on", entry, what)

    def test_sample_config(self):
        with open(os.path.join(SRCDIR, "conf", "chatd.ini"),
                  encoding="utf-8") as f:
            sample = f.read()
        table = re.findall(r'\{\s*"(\w+)",\s*"(\w+)",\s*CONF_\w+,[^,]*,[^,]*,'
                           r'\s*(NULL|"[^"]*"),', source("config.c"))
        self.assertGreater(len(table), 10)
        for section, key, default in table:
            body = re.search(r"^\[%s\]\n(.*?)(?=^\[|\Z)" % section, sample,
                             re.S | re.M)
            self.assertIsNotNone(body, "conf/chatd.ini lacks [%s]" % section)
            if default == "NULL":
                # unset by default: shown set, or as a commented example
                self.assertRegex(body.group(1), r"(?m)^(; )?%s = " % key)
            else:
                self.assertRegex(body.group(1), r"(?m)^%s = %s +;" % (
                    key, re.escape(default.strip('"'))),
                    "conf/chatd.ini: [%s] %s" % (section, key))

    def test_groff(self):
        groff = ct.need("groff", "groff-base")
        for name in PAGES:
            path = os.path.join(BUILDDIR, "doc", name)
            # -Wbreak: whether a path fits a line depends on the prefix
            # (make distcheck's is long); tests/package/run checks the
            # installed pages with every warning.
            r = subprocess.run([groff, "-ww", "-Wbreak", "-z", "-mandoc",
                                path],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               universal_newlines=True)
            self.assertEqual((r.returncode, r.stdout.strip()), (0, ""), name)

    def test_lua_api(self):
        text = page("chatd-lua.7")
        api = source("api.c")
        bridge = "".join(source(f) for f in ("api.c", "plugin.c",
                                             "command.c", "timer.c",
                                             "api_cluster.c"))
        funcs = re.findall(r'\{\s*"(\w+)",\s*\w*chat_\w+\s*\}', bridge)
        for f in ("broadcast", "command", "on", "timer", "publish"):
            self.assertIn(f, funcs)
        for f in funcs:
            self.assertTrue(re.search(r"\bFn chat\.%s\b" % f, text),
                            "chat.%s is not documented" % f)
        for m in re.findall(r'\{\s*"(\w+)",\s*user_\w+\s*\}', api):
            self.assertTrue(re.search(r"\bFn user:%s\b" % m, text),
                            "user:%s is not documented" % m)
        events = re.search(r"plugin_events\[EV_COUNT\]\s*=\s*\{([^}]*)\}",
                           bridge)
        for ev in c_strings(events.group(1)):
            self.assertTrue(re.search(r"\n\.It Ic %s Pq " % ev, text),
                            "event %s is not documented" % ev)
        for field in ("id", "name", "addr", "joined", "idle", "online",
                      "data", "node", "remote"):
            self.assertTrue(re.search(r"\n\.It Va %s\n" % field, text),
                            "user.%s is not documented" % field)
        body = re.search(r"\nchat_stats\(lua_State \*L\)\n\{(.*?)\n\}\n",
                         api, re.S).group(1)
        stats = re.findall(r'lua_setfield\(L, -2, "(\w+)"\);', body)
        self.assertIn("bytes_out", stats)
        for stat in stats:
            self.assertTrue(".It Va " + stat in text,
                            "chat.stats().%s is not documented" % stat)

    def test_core_messages(self):
        msgs = ["! internal error"]
        for m in re.findall(r'"(! [^"\\]*)\\r\\n"', source("listener.c")):
            msgs.append(m)
        self.assertEqual(len(msgs), 4)
        msgs.append("! line too long (max")
        self.assertIn('"! line too long (max %lld "', source("client.c"))
        self.assertIn('msg[] = "! internal error"', source("script.c"))
        for name in ("chatd.8", "chatd-lua.7"):
            text = page(name)
            for m in msgs:
                self.assertTrue(m in text, "%s lacks %s" % (name, m))

    def test_name_errors(self):
        reasons = []
        for f in ("text.c", "name.c", "registry.c"):
            # adjacent literals are one string: "a " "b" is "a b"
            text = re.sub(r'"\s+"', "", source(f))
            reasons += [s.replace("%04lX", "XXXX") for s in c_strings(text)
                        if s.startswith("name ")]
        self.assertGreaterEqual(len(reasons), 15)
        for name in ("chatd.8", "chatd-lua.7"):
            text = page(name)
            for r in reasons:
                self.assertTrue(r in text, "%s lacks %s" % (name, r))

    def test_lint(self):
        mandoc = ct.need("mandoc")
        for name in PAGES:
            path = os.path.join(BUILDDIR, "doc", name)
            r = subprocess.run([mandoc, "-T", "lint", "-W", "warning", path],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               universal_newlines=True)
            self.assertEqual(r.stdout.strip(), "", name)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
