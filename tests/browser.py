"""Drive a headless Chromium through the DevTools protocol, for the viewer's browser test.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol commands from file
descriptor 3 and writes replies and events to descriptor 4, each message a JSON text ended by a
NUL byte. So the test needs no port, no websocket and no Python package beyond the standard
library: only Debian's ``chromium`` (``apt-get install -y chromium``).
"""

import base64
import json
import os
import select
import shutil
import signal
import tempfile
import time

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
    "--remote-debugging-pipe",
]


def find_chromium():
    """The path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class ProtocolError(RuntimeError):
    """The browser answered a command with an error, or did not answer in time."""


class Browser:
    """One headless Chromium with one page, driven by DevTools protocol commands.

    >>> with Browser(find_chromium()) as browser:
    ...     browser.open("file:///tmp/page.html")
    ...     browser.evaluate("document.title")
    """

    def __init__(self, executable, width=1400, height=900, timeout=30):
        self.timeout = timeout
        self.events = []  # every event received, as (method, params)
        self._profile = tempfile.mkdtemp(prefix="minigrad-chromium-")
        self._log = open(os.path.join(self._profile, "stderr.log"), "wb")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        argv = [executable, *FLAGS, f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}", "about:blank"]
        self._pid = os.posix_spawn(executable, argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, to_browser_r, 3),
            (os.POSIX_SPAWN_DUP2, from_browser_w, 4),
            (os.POSIX_SPAWN_DUP2, self._log.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, self._log.fileno(), 2),
        ], setpgroup=0)  # its own process group, so that close() can end all its processes
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._session = None
        try:
            target = next(t for t in self.send("Target.getTargets")["targetInfos"]
                          if t["type"] == "page")
            self._session = self.send("Target.attachToTarget", targetId=target["targetId"],
                                      flatten=True, session=False)["sessionId"]
            self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable")
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, method, session=True, **params):
        """Send one command and return its result, collecting the events that arrive meanwhile."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session and self._session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ProtocolError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append((reply["method"], reply.get("params", {})))

    def _receive(self):
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise ProtocolError(f"no answer from Chromium within {self.timeout} s "
                                    f"(its log: {self._log.name})")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise ProtocolError(f"Chromium closed the pipe (its log: {self._log.name})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url):
        """Load ``url`` in the page and wait for its load event."""
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def wait_for(self, method):
        """Wait until the event ``method`` has arrived (since the last ``open``)."""
        deadline = time.monotonic() + self.timeout
        while not any(m == method for m, _ in self.events):
            if time.monotonic() > deadline:
                raise ProtocolError(f"no {method} event within {self.timeout} s")
            message = self._receive()
            if "method" in message:
                self.events.append((message["method"], message.get("params", {})))

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-serialisable values only)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise ProtocolError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def press(self, key, code=None, key_code=0):
        """Press and release one key, as a user would (``key`` as in KeyboardEvent.key)."""
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=code or key,
                      windowsVirtualKeyCode=key_code)

    def click(self, x, y):
        """Click the mouse at page coordinates (x, y)."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def screenshot(self, path):
        """Save a PNG of the page to ``path``."""
        data = self.send("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))

    def errors(self):
        """Console errors, uncaught exceptions and failed loads seen so far, as text."""
        found = []
        for method, params in self.events:
            if method == "Runtime.exceptionThrown":
                found.append(params["exceptionDetails"].get("exception", {}).get(
                    "description", params["exceptionDetails"].get("text")))
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append(" ".join(str(a.get("value", a.get("description")))
                                      for a in params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"])
            elif method == "Network.loadingFailed":
                found.append(f"load failed: {params.get('errorText')}")
        return found

    def requested_urls(self):
        """Every URL the page asked the network stack for."""
        return [p["request"]["url"] for m, p in self.events if m == "Network.requestWillBeSent"]

    def close(self):
        """Stop the browser and remove its profile."""
        if self._pid is None:
            return
        try:
            self.send("Browser.close", session=False)
        except (ProtocolError, OSError):
            pass
        deadline = time.monotonic() + 10
        while os.waitpid(self._pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:  # stop the browser and its helper processes
                os.killpg(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
                break
            time.sleep(0.05)
        self._pid = None
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)
