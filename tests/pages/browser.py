"""A real headless Chromium (Debian's ``chromium``) driven over the Chrome DevTools Protocol,
for the page tests: `load(url)` gives the rendered DOM, the console errors, every request the
page made and a full-page PNG screenshot.

Every host name but 127.0.0.1 is unresolvable (``--host-resolver-rules``, as
tests/api/test_docs_browser.py does), and the requests are recorded from the protocol's
``Network.requestWillBeSent``, so a test can both see that a page asks nothing of another server
and that it would not get it. The client is the ``websockets`` package's synchronous client
(installed with uvicorn[standard]); no browser automation framework.

    with Browser() as browser:
        page = browser.load("http://127.0.0.1:8000/?lang=en")
        assert not page.console_errors
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.sync.client import ClientConnection, connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: How long a page may take to load, start to load event, on a busy 2-core machine.
LOAD_TIMEOUT_S = 60.0
#: Nothing resolves but 127.0.0.1: a page that asks another server gets an error, not an answer.
RESOLVER_RULES = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@dataclass
class Page:
    url: str
    status: int | None
    dom: str = field(repr=False)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    screenshot_png: bytes = field(default=b"", repr=False)
    #: The document's width in CSS pixels: wider than the window means a sideways scroll.
    scroll_width: int = 0
    width: int = 0

    def foreign_requests(self) -> list[str]:
        """Requests that would leave this machine: anything but 127.0.0.1 and inline data."""
        return [u for u in self.requests
                if not u.startswith(("data:", "about:"))
                and urlsplit(u).hostname not in ("127.0.0.1",)]


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium for several page loads (each in a fresh tab)."""

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        if CHROMIUM is None:
            raise BrowserError("needs Debian's chromium")
        self.width, self.height = width, height
        self._ids = itertools.count(1)
        self._profile = tempfile.TemporaryDirectory(prefix="meetnet-chromium-",
                                                    ignore_cleanup_errors=True)
        self._proc: subprocess.Popen[bytes] | None = None
        self._ws: ClientConnection | None = None
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        assert CHROMIUM is not None
        # Chromium's log goes to a file, not a pipe: a pipe nobody drains fills up and stalls
        # the browser.
        self._log = Path(self._profile.name) / "chromium.log"
        with self._log.open("w") as log:
            self._proc = subprocess.Popen(
                [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--no-default-browser-check", "--disable-extensions",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--metrics-recording-only", "--hide-scrollbars",
                 f"--user-data-dir={self._profile.name}/profile",
                 f"--host-resolver-rules={RESOLVER_RULES}",
                 "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                 "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        self._ws = connect(self._devtools_url(), max_size=64 * 1024 * 1024, open_timeout=30)
        return self

    def _devtools_url(self) -> str:
        """Chromium writes its DevTools address to its log once it listens (port 0: a port it
        chose, so parallel tests never collide)."""
        assert self._proc is not None
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            found = re.search(r"DevTools listening on (ws://\S+)", self._log.read_text())
            if found:
                return found.group(1)
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        raise BrowserError("chromium gave no DevTools address:\n"
                           + self._log.read_text()[-2000:])

    def __exit__(self, *exc: object) -> None:
        if self._ws is not None:
            # The browser may be gone already; it is stopped below anyway.
            with contextlib.suppress(Exception):
                self._ws.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        # Chromium's helper processes may still be writing the profile for a moment after the
        # browser process ended: try again until they are done.
        deadline = time.monotonic() + 10
        while True:
            try:
                shutil.rmtree(self._profile.name)
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._profile.cleanup()

    # -- the protocol ----------------------------------------------------------------------

    def _send(self, method: str, params: dict[str, Any] | None = None,
              session: str | None = None, timeout: float = LOAD_TIMEOUT_S) -> dict[str, Any]:
        assert self._ws is not None
        call_id = next(self._ids)
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == call_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._events.append(reply)

    def _receive(self, deadline: float) -> dict[str, Any]:
        assert self._ws is not None
        left = deadline - time.monotonic()
        if left <= 0:
            raise BrowserError("no answer from chromium in time")
        try:
            raw = self._ws.recv(timeout=left)
        except TimeoutError:
            raise BrowserError("no answer from chromium in time") from None
        reply: dict[str, Any] = json.loads(raw)
        return reply

    def _wait_event(self, method: str, session: str, timeout: float = LOAD_TIMEOUT_S
                    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self._events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        while True:
            event = self._receive(deadline)
            self._events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event

    # -- pages -----------------------------------------------------------------------------

    def load(self, url: str, *, width: int | None = None, screenshot: bool = True,
             headers: dict[str, str] | None = None) -> Page:
        """Open ``url`` in a fresh tab, wait for its load event, and return what it showed and
        did. ``headers`` are sent with every request of the tab (an API key)."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget",
                             {"targetId": target, "flatten": True})["sessionId"]
        self._events.clear()
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self._send(f"{domain}.enable", session=session)
            if headers:
                self._send("Network.setExtraHTTPHeaders", {"headers": headers}, session=session)
            self._send("Emulation.setDeviceMetricsOverride",
                       {"width": width or self.width, "height": self.height,
                        "deviceScaleFactor": 1, "mobile": False}, session=session)
            self._send("Page.navigate", {"url": url}, session=session)
            self._wait_event("Page.loadEventFired", session)
            dom = self._send("Runtime.evaluate",
                             {"expression": "document.documentElement.outerHTML",
                              "returnByValue": True}, session=session)["result"]["value"]
            scroll_width = self._send("Runtime.evaluate", {
                "expression": "document.documentElement.scrollWidth", "returnByValue": True},
                session=session)["result"]["value"]
            png = self._screenshot(session, width or self.width) if screenshot else b""
            # Anything logged up to now (the screenshot's round trips flushed the events).
            page = self._page(url, session, str(dom), png)
            page.scroll_width, page.width = int(scroll_width), width or self.width
            return page
        finally:
            self._send("Target.closeTarget", {"targetId": target})

    def _screenshot(self, session: str, width: int) -> bytes:
        metrics = self._send("Page.getLayoutMetrics", session=session)
        height = int(metrics.get("cssContentSize", metrics.get("contentSize", {}))
                     .get("height", self.height))
        self._send("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": max(min(height, 8000), 200),
                    "deviceScaleFactor": 1, "mobile": False}, session=session)
        data = self._send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        return base64.b64decode(data)

    def _page(self, url: str, session: str, dom: str, png: bytes) -> Page:
        errors, requests = [], []
        status: int | None = None
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                requests.append(params["request"]["url"])
            elif method == "Network.responseReceived" and params.get("type") == "Document":
                status = int(params["response"]["status"])
            elif method == "Runtime.exceptionThrown":
                errors.append(str(params["exceptionDetails"].get("text")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                       for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        return Page(url=url, status=status, dom=dom, console_errors=errors, requests=requests,
                    screenshot_png=png)


def load(url: str, **options: Any) -> Page:
    """One page in a browser of its own (`Browser.load` for several)."""
    with Browser() as browser:
        return browser.load(url, **options)


def save_screenshot(page: Page, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(page.screenshot_png)
