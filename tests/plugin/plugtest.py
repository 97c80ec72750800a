"""The chatd plugin API tests' layer over tests/integration/chatdtest.py.

Python 3 standard library only.  chatdtest starts the real binary (env
CHATD) on a config in a private temp dir, listening on 127.0.0.1 port 0
(the real port read from the log), stops it by its own PID, and arms the
watchdog (here env CHATD_TEST_TIMEOUT, default 60 s).  What is the plugin
tests' own:

- each server has its own plugin directory: the test's Lua sources, plus
  the default plugins (env CHATD_PLUGINS) when a test wants the room;
  [lua] max_instructions = 100000 and [log] level = debug by default;
- stopping a server checks its log for sanitizer reports and its exit
  status, so the tests double as ASan/UBSan runs (run_check() does the
  same for "chatd -t");
- Client.send() sends one line, ask() sends one and returns the reply,
  sync() round-trips through SYNC_PLUGIN's command.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import chatdtest as ct  # noqa: E402

CHATD = ct.CHATD
PLUGINS = ct.PLUGINS
TIMEOUT = ct.DEFAULT_TIMEOUT
ct.arm_watchdog(60)

SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Undefined)Sanitizer|"
                          r"runtime error:|AddressSanitizer")


def is_sanitized(path=CHATD):
    """Whether the binary was built with AddressSanitizer."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def check_sanitizer(text, what):
    m = SANITIZER_RE.search(text)
    if m:
        raise AssertionError("sanitizer report %s:\n%s"
                             % (what, text[max(0, m.start() - 200):][:6000]))


class Server(ct.Server):
    """chatd on a private config.

    plugins: {file name: Lua source}; room: copy the default plugins too;
    config: {section: {key: value}} over the defaults (None drops a key).
    """

    DEFAULTS = ct.merge_config(ct.Server.DEFAULTS, {
        "lua": {"max_instructions": 100000},
        "log": {"level": "debug"},
    })

    def __init__(self, plugins=None, room=True, config=None):
        super().__init__(config=config, plugins=plugins,
                         plugin_base=PLUGINS if room else "")
        self._stopped = False
        self.clients = []

    # -- plugins -------------------------------------------------------
    def add_plugin(self, name, src):
        ct.write_file(self.plugin_path(name), src)

    def remove_plugin(self, name):
        os.unlink(self.plugin_path(name))

    def plugin_path(self, name):
        return os.path.join(self.plugin_dir, name)

    # -- lifecycle -----------------------------------------------------
    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop(check=exc_type is None)
        finally:
            super().__exit__(exc_type, exc, tb)
        return False

    def stop(self, check=True):
        """Close our clients, SIGTERM our own child, wait bounded (then
        SIGKILL it), and check its log for sanitizer reports and its exit
        status for 0."""
        if self.proc is None or self._stopped:
            return self.returncode
        self._stopped = True
        rc = super().stop(timeout=10)
        if check:
            text = self.log()
            check_sanitizer(text, "in the log")
            if rc != 0:
                raise AssertionError("chatd exited with status %s; log:\n%s"
                                     % (rc, text[-4000:]))
        return rc

    log = ct.Server.log_text

    # -- clients -------------------------------------------------------
    def client(self, welcome=True):
        """Connect; with welcome (the room loaded), read the welcome and
        online lines."""
        c = Client(self.port)
        self.clients.append(c)
        if welcome:
            c.expect("* welcome " + c.name)
            c.expect_match(r"\* online \(\d+\): .*")
        return c


def run_check(plugins, room=False, config=None, timeout=10):
    """chatd -t on a config with these plugins: (CompletedProcess, the
    plugin directory)."""
    d = ct.mkdtemp()
    pdir = ct.make_plugin_dir(plugins, base=PLUGINS if room else "",
                              dirpath=os.path.join(d, "plugins"))
    cfg = ct.merge_config(Server.DEFAULTS, config)
    cfg["lua"]["path"] = pdir
    path = ct.write_file(os.path.join(d, "chatd.ini"), ct.format_ini(cfg))
    r = ct.run_chatd(["-t", "-c", path], timeout=timeout)
    check_sanitizer(r.stderr, "from chatd -t")
    return r, pdir


class Client(ct.Client):
    """chatdtest's line client; send() sends one line."""

    def __init__(self, port, host="127.0.0.1"):
        super().__init__(port, host=host)

    send = ct.Client.sendline

    until = ct.Client.read_until

    def ask(self, line, timeout=TIMEOUT):
        """Send a line and return the next line received."""
        self.send(line)
        return self.line(timeout)

    def no_line(self, within=0.4):
        """Assert that nothing arrives (and no close) within `within`."""
        super().no_line(within)

    def expect_closed(self, timeout=TIMEOUT):
        """Read to the server's close; returns the lines read meanwhile."""
        return super().expect_closed(timeout, partial_ok=True)

    def sync(self, token="sync"):
        """Round trip through a '_sync' command (see SYNC_PLUGIN): every
        line sent before has been handled when this returns."""
        self.send("_sync|" + token)
        return self.until("_sync " + token)


# A command that echoes a token back: tests use it to know that every
# earlier line has been handled, instead of sleeping.
SYNC_PLUGIN = """
chat.command("_sync", "", function(user, args)
    user:send("_sync " .. tostring(args))
end)
"""


def main():
    unittest.main(verbosity=2)
