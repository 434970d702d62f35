"""The HTML reports in a real headless Chromium: no console errors, a non-blank screenshot,
printable, no dark backgrounds, and the page holds up with 200 columns and 500 releases.

Chromium is driven over the DevTools protocol with a tiny stdlib WebSocket client (no extra
dependency). Without ``/usr/bin/chromium`` the tests skip, unless ``PRIVSEG_REQUIRE_BROWSER``
is set (as ``.ci/run`` does): then they fail.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from privseg import audit
from privseg.dp.ledger import Ledger, PrivacyBudget

pytestmark = pytest.mark.browser

PRIVSEG = str(Path(sys.executable).with_name("privseg"))
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = (1280, 900)


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    )
    if found is None:
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("PRIVSEG_REQUIRE_BROWSER"):
            pytest.fail(message + "; PRIVSEG_REQUIRE_BROWSER is set")
        pytest.skip(message)
    return found


# --------------------------------------------------------------------------- a tiny CDP client


class _WebSocket:
    """Just enough RFC 6455 for the DevTools protocol: masked text frames out, frames in."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, "websocket handshake: connection closed"
            head += chunk
        assert head.split(b"\r\n", 1)[0].split()[1] == b"101", head

    def _exact(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "websocket closed"
            data += chunk
        return bytes(data)

    def send(self, text: str) -> None:
        payload = text.encode()
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def recv(self) -> str:
        message = bytearray()
        while True:
            b0, b1 = self._exact(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._exact(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._exact(8))
            payload = self._exact(n)
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            if opcode == 0x9:  # ping: answer with a masked pong
                self.sock.sendall(struct.pack("!BB", 0x8A, 0x80 | n) + b"\0\0\0\0" + payload)
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()

    def close(self) -> None:
        self.sock.close()


@dataclass
class Page:
    """One browser tab: send commands, collect events (console, exceptions, log entries)."""

    ws: _WebSocket
    events: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            assert time.monotonic() < deadline, f"no {method} within {timeout} s"
            self.events.append(json.loads(self.ws.recv()))

    def eval(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (CSP, failed loads)."""
        found = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append(f"console.{params['type']}: {params['args']}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry']['text']}")
        return found


class Browser:
    """A headless Chromium with a DevTools port, started once for the module."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.proc = subprocess.Popen(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                pytest.fail("chromium did not open its DevTools port")
            time.sleep(0.1)
        self.port = int(port_file.read_text().splitlines()[0])

    @contextmanager
    def open(self, url: str) -> Iterator[Page]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            target = json.load(response)
        page = Page(_WebSocket(target["webSocketDebuggerUrl"]))
        try:
            for domain in ("Page", "Runtime", "Log"):
                page.call(f"{domain}.enable")
            page.call(
                "Emulation.setDeviceMetricsOverride",
                width=VIEWPORT[0],
                height=VIEWPORT[1],
                deviceScaleFactor=1,
                mobile=False,
            )
            page.call("Page.navigate", url=url)
            page.wait_for("Page.loadEventFired")
            yield page
        finally:
            page.ws.close()
            close = f"http://127.0.0.1:{self.port}/json/close/{target['id']}"
            with urllib.request.urlopen(close, timeout=30):
                pass

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------- PNG check


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered rows of an 8-bit RGB(A), non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack("!I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack("!IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows = zlib.decompress(idat), width * bpp, []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def assert_non_blank(png: bytes) -> None:
    """The screenshot shows something: many colours and a fair share of non-white pixels."""
    width, height, rows = _png_pixels(png)
    assert (width, height) == (VIEWPORT[0] // 4, VIEWPORT[1] // 4)
    bpp = len(rows[0]) // width
    colours: set[bytes] = set()
    inked = total = 0
    for row in rows:
        for x in range(0, width * bpp, bpp):
            pixel = row[x : x + 3]
            colours.add(pixel)
            inked += min(pixel) < 200
            total += 1
    assert len(colours) > 20, f"only {len(colours)} colours: blank page?"
    assert 0.005 < inked / total < 0.6, f"{inked / total:.3f} of pixels inked"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    binary = _chromium()
    chromium = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.close()


def _privseg(*args: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [PRIVSEG, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr


_DARK_BACKGROUNDS = """
[...document.querySelectorAll('*')].filter(el => {
  if (!el.textContent.trim()) return false;  // bars and swatches may be dark; text areas not
  const m = getComputedStyle(el).backgroundColor.match(/[\\d.]+/g);
  if (!m) return false;
  const [r, g, b, a = 1] = m.map(Number);
  return a > 0.1 && 0.2126 * r + 0.7152 * g + 0.0722 * b < 128;
}).map(el => el.tagName)
"""


def check_page(page: Page, shot: Path) -> None:
    """No console errors, white page without dark fills, no sideways scroll, prints, screenshot."""
    assert page.errors() == []
    assert page.eval("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert page.eval(_DARK_BACKGROUNDS) == []
    assert page.eval("document.scripts.length") == 0
    overflow = page.eval("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page scrolls sideways by {overflow}px"
    pdf = base64.b64decode(page.call("Page.printToPDF", printBackground=True)["data"])
    assert pdf.startswith(b"%PDF")
    png = base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"])
    shot.write_bytes(png)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    # The pixel check decodes in pure Python: a quarter-scale capture of the same viewport.
    clip = {"x": 0, "y": 0, "width": VIEWPORT[0], "height": VIEWPORT[1], "scale": 0.25}
    assert_non_blank(base64.b64decode(page.call("Page.captureScreenshot", clip=clip)["data"]))
    assert page.errors() == []


# --------------------------------------------------------------------------- tests


def test_error_detection_works(browser: Browser, tmp_path: Path) -> None:
    """Negative control: a console error and a blocked load are seen, so silence means something."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>"
        '<img src="https://example.invalid/x.png"><script>console.error("boom")</script>'
        "</body></html>",
        encoding="utf-8",
    )
    with browser.open(bad.as_uri()) as page:
        time.sleep(0.5)
        page.eval("1")  # drain queued events
        errors = page.errors()
    assert any("boom" in e for e in errors), errors
    assert any("Content Security Policy" in e for e in errors), errors


def test_screening_report_with_200_columns(browser: Browser, tmp_path: Path) -> None:
    names = ["手机号", "email", "姓名", "身份证号", "备注", "<b>省份</b>", "金额", "城市"]
    table = pd.DataFrame(
        {
            f"{names[i % len(names)]}_{i}": [
                ("1380013" + f"{i:02d}{r:02d}") if i % 8 == 0 else f"value {r}" for r in range(20)
            ]
            for i in range(200)
        }
    )
    table.to_csv(tmp_path / "wide.csv", index=False)
    _privseg("report", "screen", "wide.csv", "--out", "screening.html", cwd=tmp_path)
    html = tmp_path / "screening.html"
    with browser.open(html.as_uri()) as page:
        assert page.eval("document.querySelectorAll('tbody tr').length") == 200
        assert page.eval("document.querySelectorAll('b').length") == 0  # escaped header
        check_page(page, tmp_path / "screening.png")


def test_run_report_with_200_columns(browser: Browser, tmp_path: Path) -> None:
    source = tmp_path / "wide.csv"
    source.write_text("a\n1\n", encoding="utf-8")
    actions = ("keep", "drop", "pseudonymize", "generalize", "mask")
    with audit.run("apply", purpose="marketing") as record:
        record.add_input(source)
        record.set_key_id("00000000000c0001")
        for i in range(200):
            action = actions[i % len(actions)]
            record.add_column(
                f"列{i}<i>",
                ["religious_belief"] if i % 10 == 0 else ["phone_number"],
                action,
                output_columns=() if action == "drop" else (f"列{i}<i>",),
                source=source,
                consent="separate_consent" if i % 20 == 0 else None,
            )
    _privseg("report", "run", "--out", "run.html", cwd=tmp_path)
    with browser.open((tmp_path / "run.html").as_uri()) as page:
        assert page.eval("document.querySelectorAll('svg.flow g.flow-row').length") == 200
        assert page.eval("document.querySelectorAll('i').length") == 0
        assert page.eval("document.getElementById('verify').className") == "ok"
        check_page(page, tmp_path / "run.png")


def test_budget_report_with_500_releases(browser: Browser, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("crm", PrivacyBudget(60), purpose="marketing")
    ledger.set_budget("orders", PrivacyBudget(2), purpose="analytics")
    for i in range(500):
        ledger.spend(
            "crm",
            PrivacyBudget("0.1"),
            purpose="marketing",
            kind=("counts", "means", "quantiles", "kmeans")[i % 4],
            predicted_value=0.8 + (i % 20) / 100,
        )
    ledger.spend("orders", PrivacyBudget("0.5"), purpose="analytics", kind="counts")
    start = time.monotonic()
    _privseg("report", "budget", "--ledger", "budget.db", "--out", "budget.html", cwd=tmp_path)
    assert time.monotonic() - start < 120  # loose: rendering 500 releases is not slow
    with browser.open((tmp_path / "budget.html").as_uri()) as page:
        assert page.eval("document.querySelectorAll('tr.release').length") == 501
        assert page.eval("document.querySelectorAll('svg.chart polyline.spent').length") == 2
        check_page(page, tmp_path / "budget.png")


def test_risk_report(browser: Browser, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    table = pd.DataFrame(
        {"<b>性别</b>": rng.choice(["男", "女"], 3000), "城市": rng.integers(0, 400, 3000),
         "渠道": rng.choice(["公众号", "小程序"], 3000)}
    )  # fmt: skip
    table.to_csv(tmp_path / "t.csv", index=False)
    _privseg("risk", "t.csv", "--quasi", "<b>性别</b>,城市", "--sensitive", "渠道",
             "--format", "html", "--out", "risk.html", cwd=tmp_path)  # fmt: skip
    with browser.open((tmp_path / "risk.html").as_uri()) as page:
        assert page.eval("document.querySelectorAll('svg.chart rect.below').length") == 3
        assert page.eval("document.querySelectorAll('svg.chart rect.bar').length") == 5
        assert page.eval("document.querySelectorAll('b').length") == 0  # escaped column name
        check_page(page, tmp_path / "risk.png")


def test_blank_page_is_detected(browser: Browser, tmp_path: Path) -> None:
    """Negative control of the screenshot check: a white page fails it."""
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    with browser.open(blank.as_uri()) as page:
        clip = {"x": 0, "y": 0, "width": VIEWPORT[0], "height": VIEWPORT[1], "scale": 0.25}
        png = base64.b64decode(page.call("Page.captureScreenshot", clip=clip)["data"])
    with pytest.raises(AssertionError, match="colours"):
        assert_non_blank(png)
