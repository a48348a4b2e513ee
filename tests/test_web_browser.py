"""The local web page in a real headless Chromium, driven over Chromium's DevTools protocol
(through a pipe: --remote-debugging-pipe, no extra package). The server runs in a thread on
127.0.0.1. The test types a formula, submits it, waits for the result and checks that the
MathML is there, that every SVG picture loaded with a non-zero size, that the numeric check
passed, and that the shared URL reloads the same result; a bad formula shows its error; and the
console stays free of errors. .ci/run installs chromium, so CI always runs this test."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tnet.web import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); .ci/run installs it"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio", "--window-size=1200,1400"]


class Browser:
    """A headless Chromium and one page of it, spoken to over the DevTools protocol: JSON
    messages separated by NUL bytes on the pipe (fd 3 in, fd 4 out, as Chromium expects)."""

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # numbers above 4, so that bash's 3<& and 4>& cannot overwrite one before using it
        low = (to_chrome_r, from_chrome_w)
        to_chrome_r, from_chrome_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in low)
        for fd in low:
            os.close(fd)
        command = " ".join(
            [CHROMIUM or "chromium", *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]
        )
        self.process = subprocess.Popen(
            ["bash", "-c", f"exec {command} 3<&{to_chrome_r} 4>&{from_chrome_w}"],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    def message(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: bool = False) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            answer = self.message()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]
            self.events.append(answer)

    def js(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True, "timeout": 60000},
            session=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url: str) -> None:
        self.call("Page.navigate", {"url": url}, session=True)
        ready = "document.readyState === 'complete' && document.getElementById('go')"
        self.js(
            f"new Promise(r => {{ const t = setInterval(() => {{ if ({ready}) {{ clearInterval(t); r(true); }} }}, 50); }})"  # noqa: E501
        )

    def wait_for_answer(self) -> str:
        """Waits until the page says done or error (the status line); returns it."""
        return self.js(
            "new Promise(r => { const t = setInterval(() => { const s = document.getElementById('status').textContent;"
            " if (s === 'done' || s === 'error') { clearInterval(t); r(s); } }, 50); })"
        )

    def console_errors(self) -> list[str]:
        errors = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append(str(params.get("exceptionDetails")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                if not entry.get("url", "").endswith("favicon.ico"):
                    errors.append(entry.get("text", ""))
        return errors

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self.to_chrome)
        os.close(self.from_chrome)


@pytest.fixture(scope="module")
def server():
    app = create_app(timeout=60)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()


@pytest.fixture()
def browser(tmp_path):
    b = Browser(tmp_path / "profile")
    yield b
    b.close()


RESULT_STATE = """(() => {
  const imgs = [...document.querySelectorAll('#result figure img')];
  return {
    maths: document.querySelectorAll('#result math').length,
    mathWidth: Math.max(0, ...[...document.querySelectorAll('.matrix math')].map(m => m.getBoundingClientRect().width)),
    pictures: imgs.length,
    loaded: imgs.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0).length,
    check: document.getElementById('check') ? document.getElementById('check').className : '',
    text: [...document.querySelectorAll('.matrix code')].map(c => c.textContent),
    error: document.getElementById('error').textContent,
    url: location.href,
  };
})()"""


def test_type_submit_share_and_reload(server, browser, tmp_path):
    browser.goto(server)
    browser.js("document.getElementById('f').value = ''; document.getElementById('f').focus()")
    browser.call("Input.insertText", {"text": "norm2(A*x - b)^2"}, session=True)
    browser.js("document.getElementById('wrt').value = 'x'; document.getElementById('go').click()")
    assert browser.wait_for_answer() == "done"
    browser.js("new Promise(r => setTimeout(r, 300))")  # let the data: images decode
    state = browser.js(RESULT_STATE)
    assert state["error"] == ""
    assert state["maths"] == 2  # the derivative, in matrix and in bracket notation
    assert state["mathWidth"] > 0  # typeset, visible
    assert state["text"] == ["2 A^T (A x - b)"]
    assert state["pictures"] == 4 and state["loaded"] == 4
    assert "passed" in state["check"]
    shared = state["url"]
    query = urllib.parse.parse_qs(urllib.parse.urlparse(shared).query)
    assert query == {"f": ["norm2(A*x - b)^2"], "wrt": ["x"], "kind": ["gradient"], "code": ["numpy"]}
    # the bracket notation toggle
    browser.js("document.querySelector('input[value=bracket]').click()")
    visible = browser.js("getComputedStyle(document.querySelector('.bracket')).display")
    assert visible != "none"
    assert browser.js("getComputedStyle(document.querySelector('.matrix')).display") == "none"
    # a screenshot is not blank
    shot = browser.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
    assert len(shot) > 10_000
    # the shared URL, opened afresh, shows the same result
    browser.goto(shared)
    assert browser.wait_for_answer() == "done"
    browser.js("new Promise(r => setTimeout(r, 300))")
    again = browser.js(RESULT_STATE)
    assert again["text"] == state["text"] and again["loaded"] == 4 and "passed" in again["check"]
    assert browser.js("document.getElementById('f').value") == "norm2(A*x - b)^2"
    assert browser.console_errors() == []


def test_bad_formula_shows_the_error(server, browser):
    browser.goto(server + "?" + urllib.parse.urlencode({"f": "A*x + y'"}))
    assert browser.wait_for_answer() == "error"
    state = browser.js(RESULT_STATE)
    assert "a column vector (n) and a row vector" in state["error"]
    assert "      ^" in state["error"]  # the caret under the position
    assert state["maths"] == 0
    assert browser.console_errors() == []


CODE_STATE = """(() => ({
  hidden: document.getElementById('code-panel').hidden,
  visible: document.getElementById('source').getBoundingClientRect().height > 0,
  source: document.getElementById('source').textContent,
  backend: document.getElementById('code').value,
  copied: document.getElementById('copied').textContent,
  url: location.href,
}))()"""


def test_the_code_panel(server, browser):
    browser.goto(server + "?" + urllib.parse.urlencode({"f": "norm2(A*x - b)^2", "wrt": "x"}))
    assert browser.wait_for_answer() == "done"
    state = browser.js(CODE_STATE)
    assert not state["hidden"] and state["visible"]
    assert state["backend"] == "numpy"
    assert "on numpy" in state["source"] and "def gradient_x(" in state["source"]
    # another backend: the select reloads the code, and the URL carries it
    browser.js(
        "const s = document.getElementById('code'); s.value = 'torch'; s.dispatchEvent(new Event('change'));"
        "document.getElementById('status').textContent = ''"
    )
    assert browser.wait_for_answer() == "done"
    state = browser.js(CODE_STATE)
    assert "import torch" in state["source"] and "import numpy" not in state["source"]
    assert urllib.parse.parse_qs(urllib.parse.urlparse(state["url"]).query)["code"] == ["torch"]
    # the shared URL opens with that backend
    browser.goto(state["url"])
    assert browser.wait_for_answer() == "done"
    again = browser.js(CODE_STATE)
    assert again["backend"] == "torch" and again["source"] == state["source"]
    browser.goto(server + "?" + urllib.parse.urlencode({"f": "norm2(A*x - b)^2", "wrt": "x", "code": "jax"}))
    assert browser.wait_for_answer() == "done"
    assert "import jax" in browser.js(CODE_STATE)["source"]
    # the copy button: the clipboard, or (where the page may not write it) the text selected
    browser.js("document.getElementById('copy').click()")
    browser.js("new Promise(r => setTimeout(r, 300))")
    copied = browser.js(CODE_STATE)["copied"]
    assert copied == "copied" or copied.startswith("selected")
    if copied.startswith("selected"):
        assert "import jax" in browser.js("window.getSelection().toString()")
    assert browser.console_errors() == []
