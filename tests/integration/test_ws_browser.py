#!/usr/bin/env python3
"""A real browser in the room: headless Chromium, driven by Selenium,
opens the page a test chatd serves on its [websocket] port, renames
itself, sends a line that a plain TCP ("nc") client and a telnet-style
client (CRLF lines) receive, receives their lines, sees the user list
change when one leaves, survives a restart of chatd through its
reconnect, and saves a screenshot that is checked not to be blank.  Then
the same page over https from a listener with tls = true: it connects
with wss:// and chats with a TCP client both ways.  Chromium trusts the
test certificate by its key (--ignore-certificate-errors-spki-list, the
hash of that one key; no other certificate error is ignored), as its
certificate store cannot be written without NSS's certutil.

Selenium is Debian's python3-selenium: under another Python (pyenv) this
test runs itself again with /usr/bin/python3."""

import os
import sys

try:
    import selenium  # noqa: F401
except ImportError:
    if os.path.exists("/usr/bin/python3") and \
            os.path.realpath(sys.executable) != \
            os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise AssertionError("python3-selenium is not installed (Debian: "
                         "apt-get install python3-selenium)")

import base64
import hashlib
import ssl
import struct
import subprocess
import time
import unittest
import zlib

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

import chatdtest as ct

ct.arm_watchdog(150)
WWW = os.path.join(ct.SRCDIR, "www")
SHOT = os.environ.get("CHATD_SCREENSHOT")	# also keep it here


def png_is_blank(data):
    """Whether a PNG (8-bit RGB or RGBA, as Chromium writes) has a single
    colour: decoded with zlib, every scanline unfiltered."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("not a PNG")
    pos, idat, width, height, bpp = 8, b"", 0, 0, 0
    while pos < len(data):
        n, kind = struct.unpack("!I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack("!IIBB", body[:10])
            if depth != 8 or colour not in (2, 6):
                raise AssertionError("PNG of depth %d colour %d"
                                     % (depth, colour))
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours = set()
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xff
            elif f == 2:
                line[x] = (line[x] + b) & 0xff
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xff
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 0xff
        for x in range(0, stride, bpp * 7):
            colours.add(bytes(line[x:x + 3]))
        prev = line
        if len(colours) > 8:
            return False
    return True


class BrowserTest(unittest.TestCase):
    def setUp(self):
        ct.need("chromium", "chromium")
        self.driver_path = ct.need("chromedriver", "chromium-driver")
        self.dir = ct.mkdtemp()

    def browser(self, flags=()):
        opts = webdriver.ChromeOptions()
        opts.binary_location = ct.need("chromium", "chromium")
        for flag in tuple(flags) + ("--headless", "--no-sandbox", "--disable-gpu",
                     "--disable-quic", "--no-first-run",
                     "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=900,640",
                     "--user-data-dir=" + os.path.join(self.dir, "profile")):
            opts.add_argument(flag)
        service = Service(self.driver_path,
                          log_path=os.path.join(self.dir, "driver.log"))
        return webdriver.Chrome(service=service, options=opts)

    def wait(self, what, pred, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("browser: %s not within %.0fs"
                                     % (what, timeout))
            time.sleep(0.05)

    def texts(self, d, css):
        # In one script: the page redraws its lists, which would leave
        # element references read one by one stale.
        return d.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]))"
            ".map((e) => e.textContent);", css)

    def state(self, d):
        return d.find_element(By.ID, "state").get_attribute("data-state")

    def test_browser_nc_telnet(self):
        cfg = {"websocket": {"bind": "127.0.0.1", "port": 0, "www": WWW}}
        srv = ct.Server(config=cfg).start()
        wport = srv.listener_port("websocket")
        nc = srv.client()
        tel = srv.client()
        nc.expect("* %s joined" % tel.name)
        d = self.browser()
        try:
            d.get("http://127.0.0.1:%d/" % wport)
            self.wait("online", lambda: self.state(d) == "online")
            m = nc.expect_match(r"\* (127\.0\.0\.1:\d+) joined")
            web = m.group(1)
            tel.expect("* %s joined" % web)
            self.wait("user list", lambda: sorted(self.texts(d, "#users li"))
                      == sorted([nc.name, tel.name, web]))

            # Rename, from the page's own form.
            d.find_element(By.ID, "newname").send_keys("webby")
            d.find_element(By.CSS_SELECTOR, "#rename button").click()
            nc.expect("* %s is now webby" % web)
            tel.expect("* %s is now webby" % web)
            self.wait("renamed", lambda: "webby" in
                      self.texts(d, "#users li.me"))

            # A line from the browser reaches nc and telnet.
            box = d.find_element(By.ID, "line")
            box.send_keys("hello from the browser <b>not bold</b>")
            d.find_element(By.CSS_SELECTOR, "#send button").click()
            nc.expect("[webby]: hello from the browser <b>not bold</b>")
            tel.expect("[webby]: hello from the browser <b>not bold</b>")

            # Lines from nc and telnet reach the browser, as text.
            nc.sendline("hi browser, from nc")
            tel.sendline("and from telnet", eol=b"\r\n")
            self.wait("nc's line", lambda: "hi browser, from nc" in
                      self.texts(d, "#messages li.chat .text"))
            self.wait("telnet's line", lambda: "and from telnet" in
                      self.texts(d, "#messages li.chat .text"))
            self.assertIn(nc.name, self.texts(d, "#messages li.chat .name"))
            self.assertEqual(
                d.find_elements(By.CSS_SELECTOR, "#messages b"), [],
                "room text was inserted as HTML")

            # History: up recalls the line sent.
            box.send_keys("\ue013")	# arrow up
            self.assertEqual(box.get_attribute("value"),
                             "hello from the browser <b>not bold</b>")
            box.clear()

            # telnet leaves: the list follows.
            tel.sendline("exit", eol=b"\r\n")
            tel.read_until("* bye")
            tel.expect_closed()
            self.wait("telnet gone", lambda: sorted(self.texts(
                d, "#users li")) == sorted([nc.name, "webby"]))

            shot = d.get_screenshot_as_png()
            if SHOT:
                with open(SHOT, "wb") as f:
                    f.write(shot)
            self.assertFalse(png_is_blank(shot), "the screenshot is blank")

            # chatd restarts on the same port: the page reconnects.
            nc.close()
            srv.stop()
            self.wait("offline", lambda: self.state(d) == "offline")
            cfg["websocket"]["port"] = wport
            srv = ct.Server(config=cfg).start()
            nc = srv.client()
            m = nc.expect_match(r"\* (127\.0\.0\.1:\d+) joined", timeout=30)
            self.wait("online again", lambda: self.state(d) == "online")
            self.wait("new user list", lambda: sorted(self.texts(
                d, "#users li")) == sorted([nc.name, m.group(1)]))
            box.send_keys("back again")
            d.find_element(By.CSS_SELECTOR, "#send button").click()
            nc.expect("[%s]: back again" % m.group(1))
        finally:
            d.quit()
            srv.stop()

    def test_browser_over_https(self):
        ca = ct.TestCA()
        tls = ca.tls_section(port="off")
        cfg = {"websocket": {"bind": "127.0.0.1", "port": 0, "www": WWW,
                             "tls": "true"}, "tls": tls}
        with open(tls["cert"]) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        spki = spki_of(der)
        srv = ct.Server(config=cfg).start()
        wport = srv.listener_port("websocket")
        nc = srv.client()
        d = self.browser(["--ignore-certificate-errors-spki-list=" + spki])
        try:
            d.get("https://127.0.0.1:%d/" % wport)
            self.wait("online over wss", lambda: self.state(d) == "online")
            self.assertEqual(d.execute_script("return location.protocol"),
                             "https:")
            web = nc.expect_match(r"\* (127\.0\.0\.1:\d+) joined").group(1)
            box = d.find_element(By.ID, "line")
            box.send_keys("hello over wss")
            d.find_element(By.CSS_SELECTOR, "#send button").click()
            nc.expect("[%s]: hello over wss" % web)
            nc.sendline("and back to the browser")
            self.wait("nc's line", lambda: "and back to the browser" in
                      self.texts(d, "#messages li.chat .text"))
            self.assertNotIn("handshake with", srv.log_text())
        finally:
            d.quit()
            srv.stop()


def spki_of(der):
    """base64(SHA-256(SubjectPublicKeyInfo)) of a DER certificate, as
    Chromium's --ignore-certificate-errors-spki-list takes it."""
    pem = ssl.DER_cert_to_PEM_cert(der)
    r = subprocess.run(["openssl", "x509", "-noout", "-pubkey"],
                          input=pem.encode(), stdout=subprocess.PIPE,
                          check=True, timeout=30)
    key = r.stdout.decode()
    body = "".join(l for l in key.splitlines() if not l.startswith("-----"))
    return base64.b64encode(hashlib.sha256(
        base64.b64decode(body)).digest()).decode()


if __name__ == "__main__":
    unittest.main()
