#!/usr/bin/env python3
"""make tlscheck: testssl.sh (Debian package testssl.sh) against a running
chatd's [tls] listener; fails on any finding it rates NOT ok or
VULNERABLE.  The certificate comes from a CA made here and handed to
testssl with --add-ca, and names a CRL, so that what is judged is chatd's
TLS, not the test certificate's standing.  About a minute; not part of
make check (CI runs it)."""

import os
import re
import subprocess
import sys

import chatdtest as ct

BAD = re.compile(r"NOT ok|VULNERABLE")


def main():
    ct.arm_watchdog(600)
    testssl = ct.need("testssl", "testssl.sh")
    ca = ct.TestCA()
    ca.cert("tlscheck", extra="crlDistributionPoints=URI:http://127.0.0.1/"
            "ca.crl\n")
    srv = ct.Server(ca=ca, config={"tls": ca.tls_section("tlscheck")})
    with srv:
        out = os.path.join(srv.dir, "testssl.txt")
        r = subprocess.run(
            [testssl, "--quiet", "--color", "0", "--warnings", "batch",
             "--add-ca", ca.path, "--logfile", out,
             "127.0.0.1:%d" % srv.tls_port],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=540, text=True,
            errors="replace", preexec_fn=ct._pdeathsig)
        report = r.stdout
        sys.stdout.write(report)
        bad = [l.strip() for l in report.splitlines() if BAD.search(l)]
        if not re.search(r"TLS 1\.3 +offered", report):
            bad.append("testssl did not see TLS 1.3 offered")
        if not srv.alive():
            bad.append("chatd died under testssl")
        srv.stop()
    if bad:
        print("tlscheck: %d findings:\n  %s" % (len(bad), "\n  ".join(bad)))
        print("0 passed, 1 failed")
        return 1
    print("tlscheck: no finding rated NOT ok or VULNERABLE")
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
