"""The contrib plugin tests' layer over tests/integration/chatdtest.py.

Python 3 standard library only.  chatdtest starts the real chatd (env
CHATD) on a temporary config listening on 127.0.0.1 port 0 (the real port
read from the log), stops it by its own PID, and arms the watchdog (here
env CHATD_TEST_TIMEOUT, default 60 s).  What is the contrib tests' own:

- the plugin directory holds copies of the default plugins (env
  CHATD_PLUGINS) and of the contrib plugins under test (env CHATD_SRCDIR
  + /contrib/plugins), named without ".lua" (e.g. ["msg"]), plus any
  test-only plugins (extra={filename: source});
- the config adds [server] idle_timeout = 0 and the [plugin.NAME] (or
  other) sections a test gives;
- Server.join(name) connects a client and renames it, keeping the joined
  clients in order in .clients, so sync() can check that each of them got
  nothing unexpected; Client.ask(line, *want) expects exact replies.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import chatdtest as ct  # noqa: E402

CHATD = ct.CHATD
PLUGINS = ct.PLUGINS
SRCDIR = ct.SRCDIR
CONTRIB = os.path.join(SRCDIR, "contrib", "plugins")
TIMEOUT = ct.DEFAULT_TIMEOUT
ct.arm_watchdog(60)

DEFAULTS = ct.merge_config(ct.Server.DEFAULTS,
                           {"server": {"idle_timeout": 0}})


def contrib_sources(plugins, extra=None):
    """{filename: source} of the contrib plugins named in `plugins` and of
    the test-only plugins in extra."""
    files = {}
    for name in plugins:
        with open(os.path.join(CONTRIB, name + ".lua")) as f:
            files[name + ".lua"] = f.read()
    files.update(extra or {})
    return files


def check_config(plugins, sections=None):
    """Run chatd -t on such a config; returns (rc, stdout, stderr)."""
    d = ct.mkdtemp()
    cfg = ct.merge_config(DEFAULTS, sections)
    cfg["lua"]["path"] = ct.make_plugin_dir(
        contrib_sources(plugins), dirpath=os.path.join(d, "plugins"))
    path = ct.write_file(os.path.join(d, "chatd.ini"), ct.format_ini(cfg))
    p = ct.run_chatd(["-t", "-c", path])
    return p.returncode, p.stdout, p.stderr


class Server(ct.Server):
    """chatd running with the default plugins and some contrib ones."""

    DEFAULTS = DEFAULTS

    def __init__(self, plugins, sections=None, extra=None):
        super().__init__(config=sections,
                         plugins=contrib_sources(plugins, extra),
                         plugin_base=PLUGINS)
        self.clients = []       # joined clients, in join order

    log = ct.Server.log_text

    def rewrite_config(self, sections=None):
        """Write the config again, with other plugin sections."""
        cfg = ct.merge_config(self.DEFAULTS, sections)
        cfg["lua"]["path"] = self.plugin_dir
        self.write_config(cfg)

    def reload(self):
        """SIGHUP, then wait for the reload's outcome; True if done."""
        return super().reload()[0]

    def stop(self):
        return super().stop(timeout=5)

    def connect(self):
        return Client(self.port)

    def join(self, name, greeting=()):
        """Connect, read the welcome, the online list and the greeting
        lines given, rename to name, and let the clients already joined
        read the join and rename notices.  Returns the client."""
        c = self.connect()
        first = c.expect_re(r"\* welcome (\S+)").group(1)
        c.expect_re(r"\* online \(\d+\): .*")
        for line in greeting:
            c.expect(line)
        for other in self.clients:
            other.expect("* %s joined" % first)
        c.send("rename|" + name)
        c.expect("* you are now " + name)
        for other in self.clients:
            other.expect("* %s is now %s" % (first, name))
        c.name = name
        self.clients.append(c)
        return c

    def sync(self, sender=None):
        """Make every joined client read up to a marker line: proves that
        nothing was queued to it before (the server keeps order)."""
        sender = sender or self.clients[0]
        sender.send("sync-marker")
        for c in self.clients:
            c.expect("[%s]: sync-marker" % sender.name)


class Client(ct.Client):
    """chatdtest's line client; send() sends one line."""

    def __init__(self, port, timeout=TIMEOUT):
        super().__init__(port, timeout=timeout)

    send = ct.Client.sendline

    @property
    def seen(self):
        """Every line read so far."""
        return self.history

    readline = ct.Client.line
    expect_re = ct.Client.expect_match

    def lines_until(self, want, timeout=None):
        """Read lines up to the line want; the lines before it."""
        return self.read_until(want, timeout)[:-1]

    def ask(self, line, *want):
        """Send a line and expect exactly these lines back."""
        self.send(line)
        for w in want:
            self.expect(w)
