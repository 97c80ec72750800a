#!/usr/bin/env python3
"""What a packager sees of the build: configure --help, the version, the
systemd unit and the Debian packaging in contrib/debian, kept in step.

- every AC_ARG_ENABLE / AC_ARG_WITH of configure.ac is in
  "./configure --help" with its help text;
- "chatd -V" prints the version of AC_INIT, and contrib/debian/changelog
  packages that version;
- contrib/chatd.service reloads with SIGHUP after "chatd -t", raises
  LimitNOFILE enough for the default max_clients, and passes
  "systemd-analyze verify" with its paths pointed at this build (it
  fails when systemd-analyze is not installed; CI installs it);
- the .install files of contrib/debian take every file "make install"
  installs, each into one package, and nothing else; the files they take
  from the source tree exist; every file of contrib/debian is
  distributed.

tests/package/run builds, installs and purges the package itself; it
needs root and is run by CI, not by make check.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import chatdtest as ct

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("CHATD_SRCDIR") or os.path.dirname(os.path.dirname(
    HERE))
CHATD = os.environ.get("CHATD") or os.path.join(os.getcwd(), "chatd")
BUILDDIR = os.path.dirname(os.path.abspath(CHATD))


def read(*path):
    with open(os.path.join(SRCDIR, *path), encoding="utf-8") as f:
        return f.read()


def version():
    m = re.search(r"^AC_INIT\(\[chatd\], \[([^]]+)\]", read("configure.ac"),
                  re.M)
    return m.group(1)


class Build(unittest.TestCase):

    def test_configure_help(self):
        ac = read("configure.ac")
        opts = re.findall(r"AC_ARG_(ENABLE|WITH)\(\[([\w-]+)\]", ac)
        self.assertIn(("ENABLE", "sanitizers"), opts)
        out = subprocess.run([os.path.join(SRCDIR, "configure"), "--help"],
                             stdout=subprocess.PIPE, check=True,
                             universal_newlines=True).stdout
        for kind, name in opts:
            words = (["--enable-", "--disable-"] if kind == "ENABLE"
                     else ["--with-", "--without-"])
            rx = r"\n  (%s)%s(\[?=\S*)?( +\S.*|\n {20,}\S.*)" % (
                "|".join(words), re.escape(name))
            self.assertRegex(out, rx, "%s %s has no help line" % (kind, name))

    def test_version(self):
        r = subprocess.run([CHATD, "-V"], stdout=subprocess.PIPE,
                           universal_newlines=True)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "chatd %s\n" % version()))

    def test_debian_changelog_version(self):
        first = read("contrib", "debian", "changelog").splitlines()[0]
        m = re.match(r"chatd \(([^-)]+)-\d+\) ", first)
        self.assertIsNotNone(m, first)
        self.assertEqual(m.group(1), version(),
                         "contrib/debian/changelog packages another version")

    def test_debian_installs_what_make_install_installs(self):
        # "make install" into a scratch DESTDIR with Debian's prefix, as
        # dh_auto_install does; dh_install then takes each .install entry
        # from there (one field) or from the source tree (two fields).
        with tempfile.TemporaryDirectory() as dest:
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("MAKE")}
            r = subprocess.run(
                ["make", "-C", BUILDDIR, "install", "DESTDIR=" + dest,
                 "prefix=/usr", "sysconfdir=/etc"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                universal_newlines=True)
            self.assertEqual(r.returncode, 0, r.stdout[-2000:])
            installed = set()
            for d, _, files in os.walk(dest):
                for f in files:
                    installed.add(os.path.relpath(os.path.join(d, f), dest))
        self.assertIn("usr/sbin/chatd", installed)
        if not os.path.exists(os.path.join(BUILDDIR, "chatc")):
            # Configured --without-client; the package build never is.
            installed |= {"usr/bin/chatc", "usr/share/man/man1/chatc.1"}
        taken = {}
        for pkg in ("chatd", "chatd-tools"):
            for line in read("contrib", "debian",
                             pkg + ".install").splitlines():
                fields = line.split()
                if len(fields) == 2:
                    self.assertTrue(os.path.isfile(
                        os.path.join(SRCDIR, fields[0])), fields[0])
                    continue
                entry = fields[0]
                hits = {f for f in installed
                        if f == entry or f.startswith(entry + "/")}
                self.assertTrue(hits, "%s.install: %s is not installed"
                                % (pkg, entry))
                for f in hits:
                    self.assertNotIn(f, taken, "%s in %s and %s"
                                     % (f, taken.get(f), pkg))
                    taken[f] = pkg
        self.assertEqual(sorted(installed - set(taken)), [],
                         "installed but in no package")
        for line in read("contrib", "debian", "docs").splitlines():
            self.assertTrue(os.path.isfile(os.path.join(SRCDIR, line)), line)

    def test_debian_files_distributed(self):
        am = read("contrib", "packaging.am")
        top = os.path.join(SRCDIR, "contrib", "debian")
        found = 0
        for d, _, files in os.walk(top):
            for f in files:
                rel = os.path.relpath(os.path.join(d, f), SRCDIR)
                self.assertRegex(am, r"\s%s\s" % re.escape(rel),
                                 "%s is not in EXTRA_DIST" % rel)
                found += 1
        self.assertGreaterEqual(found, 8)

    def unit(self):
        return read("contrib", "chatd.service")

    def test_unit_reload_and_limits(self):
        unit = self.unit()
        self.assertRegex(unit, r"\nExecReload=/usr/sbin/chatd -t -c "
                         r"/etc/chatd/chatd.ini\nExecReload=/bin/kill -HUP "
                         r"\$MAINPID\n")
        limit = int(re.search(r"\nLimitNOFILE=(\d+)\n", unit).group(1))
        default = int(re.search(r'"max_clients", CONF_INT, \d+, \d+, "(\d+)"',
                                read("src", "config.c")).group(1))
        # chatd keeps CHATD_FD_SPARE descriptors besides its clients and
        # those open before the first one (src/chatd.h)
        spare = int(re.search(r"#define\s+CHATD_FD_SPARE\s+(\d+)",
                              read("src", "chatd.h")).group(1))
        self.assertGreaterEqual(limit, default + spare + 64)
        for key in ("DynamicUser=yes", "NoNewPrivileges=yes",
                    "ProtectSystem=strict", "PrivateTmp=yes"):
            self.assertIn("\n%s\n" % key, unit)

    def test_unit_verifies(self):
        analyze = ct.need("systemd-analyze", "systemd")
        with tempfile.TemporaryDirectory(prefix="chatd-unit-") as d:
            # The unit's paths pointed at this build, the man page it
            # names where man(1) finds it.
            os.makedirs(os.path.join(d, "man", "man8"))
            shutil.copy(os.path.join(BUILDDIR, "doc", "chatd.8"),
                        os.path.join(d, "man", "man8"))
            unit = self.unit().replace("/usr/sbin/chatd", CHATD).replace(
                "/etc/chatd/chatd.ini",
                os.path.join(SRCDIR, "conf", "chatd.ini"))
            path = os.path.join(d, "chatd.service")
            with open(path, "w") as f:
                f.write(unit)
            env = dict(os.environ, MANPATH=os.path.join(d, "man"),
                       SYSTEMD_LOG_LEVEL="notice")
            r = subprocess.run([analyze, "verify", path], env=env,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               universal_newlines=True)
            self.assertEqual((r.returncode, r.stdout), (0, ""))

    def test_unit_notify_and_watchdog(self):
        unit = self.unit()
        for key in ("Type=notify", "NotifyAccess=main"):
            self.assertIn("\n%s\n" % key, unit)
        self.assertRegex(unit, r"\nWatchdogSec=\d+s\n")
        # The notifications go over AF_UNIX.
        families = re.search(r"\nRestrictAddressFamilies=(.*)\n",
                             unit).group(1).split()
        self.assertIn("AF_UNIX", families)

    def test_socket_units_verify(self):
        analyze = ct.need("systemd-analyze", "systemd")
        names = {"chatd.socket": "chat", "chatd-metrics.socket": "metrics"}
        with tempfile.TemporaryDirectory(prefix="chatd-unit-") as d:
            os.makedirs(os.path.join(d, "man", "man8"))
            shutil.copy(os.path.join(BUILDDIR, "doc", "chatd.8"),
                        os.path.join(d, "man", "man8"))
            with open(os.path.join(d, "chatd.service"), "w") as f:
                f.write(self.unit().replace("/usr/sbin/chatd", CHATD)
                        .replace("/etc/chatd/chatd.ini", os.path.join(
                            SRCDIR, "conf", "chatd.ini")))
            for name, fdname in names.items():
                text = read("contrib", name)
                # The name the listener takes (listener.c, exporter.c).
                self.assertIn("\nFileDescriptorName=%s\n" % fdname, text)
                self.assertIn("\nService=chatd.service\n", text)
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
            env = dict(os.environ, MANPATH=os.path.join(d, "man"),
                       SYSTEMD_LOG_LEVEL="notice")
            r = subprocess.run([analyze, "verify"] + [os.path.join(d, n)
                                                       for n in names],
                               env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               universal_newlines=True)
            self.assertEqual((r.returncode, r.stdout), (0, ""))


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
