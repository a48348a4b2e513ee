"""The gallery page in a real browser: headless Chromium opens gallery/site/index.html; every
image must load (naturalWidth > 0), the console must stay free of errors, and a screenshot of
the page must not be blank.

The page carries its own small check (gallery/build.py, PAGE_CHECK_SCRIPT): on load it counts the
images that did not load and the errors it saw (window errors, failed loads, console.error)
and writes the counts into <pre id="page-check">, which `chromium --dump-dom` reads back.
.ci/run installs chromium, so CI always runs this test; it skips only where chromium is absent.
"""

from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from gallery.build import PAGE_CHECK_SCRIPT  # the gallery is not installed: tests/conftest.py loads it by path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "gallery" / "site" / "index.html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); .ci/run installs it"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--mute-audio"]


def chromium(*args: str, page: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=tmp_path)


def page_check(page: Path, tmp_path: Path) -> tuple[dict[str, int], str, str]:
    """The page's own check after load, and chromium's log."""
    done = chromium(
        "--dump-dom", "--virtual-time-budget=15000", "--enable-logging=stderr", "--v=0", page=page, tmp_path=tmp_path
    )
    m = re.search(r'<pre id="page-check"([^>]*)>([^<]*)', done.stdout)
    assert m, f"chromium did not return the page (exit {done.returncode}): {done.stderr[-2000:]}"
    counts = {k: int(v) for k, v in re.findall(r'data-(\w+)="(\d+)"', m.group(1))}
    assert counts, f"the page's check did not run: {m.group(2)!r}"
    return counts, m.group(2), done.stderr


def read_png(path: Path) -> np.ndarray:
    """A non-interlaced 8-bit PNG as an (h, w, channels) array (zlib and numpy, no Pillow)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    assert depth == 8 and interlace == 0 and ctype in (0, 2, 4, 6), (depth, ctype, interlace)
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    stride = w * ch
    raw = zlib.decompress(idat)
    rows = np.empty((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(h):
        start = y * (stride + 1)
        kind, line = raw[start], np.frombuffer(raw, np.uint8, stride, start + 1)
        if kind == 0:
            cur = line.copy()
        elif kind == 1:  # Sub: a running sum along the row, per channel
            cur = np.cumsum(line.reshape(w, ch), axis=0, dtype=np.int64).astype(np.uint8).reshape(-1)
        elif kind == 2:  # Up
            cur = line + prev
        else:  # Average or Paeth: each byte depends on the one decoded to its left
            out, up = bytearray(line.tobytes()), prev.tobytes()
            for x in range(stride):
                a = out[x - ch] if x >= ch else 0
                b = up[x]
                if kind == 3:
                    p = (a + b) >> 1
                else:
                    c = up[x - ch] if x >= ch else 0
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                out[x] = (out[x] + p) & 255
            cur = np.frombuffer(bytes(out), np.uint8)
        rows[y] = cur
        prev = cur
    return rows.reshape(h, w, ch)


@pytest.fixture(scope="module")
def page() -> Path:
    assert PAGE.is_file(), "gallery/site/index.html is missing: run `make gallery`"
    return PAGE


def test_every_image_loads_and_the_console_has_no_errors(page, tmp_path):
    counts, text, log = page_check(page, tmp_path)
    images = page.read_text(encoding="utf-8").count("<img ")
    assert counts["images"] == images > 0, text
    assert counts["broken"] == 0, text
    assert counts["errors"] == 0, text
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert not console, "the page wrote to the console:\n" + "\n".join(console)


def test_the_page_check_catches_a_broken_image_and_an_error(tmp_path):
    """The check itself works: a page with a broken image and a console error fails it."""
    fine = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>').decode()
    bad = tmp_path / "bad.html"
    bad.write_text(
        f"<!DOCTYPE html><html><head><script>{PAGE_CHECK_SCRIPT}</script></head><body>"
        f'<img alt="fine" src="data:image/svg+xml;base64,{fine}">'
        '<img alt="broken" src="data:image/png;base64,AAAA">'
        "<script>console.error('boom')</script>"
        '<pre id="page-check"></pre></body></html>',
        encoding="utf-8",
    )
    counts, text, _ = page_check(bad, tmp_path)
    assert counts["images"] == 2 and counts["broken"] == 1, text
    assert counts["errors"] >= 1 and "boom" in text, text


def test_the_page_screenshot_is_not_blank(page, tmp_path):
    shot = tmp_path / "page.png"
    done = chromium(
        f"--screenshot={shot}", "--window-size=1200,1400", "--virtual-time-budget=15000", page=page, tmp_path=tmp_path
    )
    assert shot.is_file(), done.stderr[-2000:]
    pixels = read_png(shot)[..., :3].reshape(-1, 3)
    assert pixels.shape[0] == 1200 * 1400
    colors, counts = np.unique(pixels, axis=0, return_counts=True)
    background = counts.max() / pixels.shape[0]
    assert len(colors) > 50, f"only {len(colors)} colours: a blank page?"
    assert background < 0.97, f"{background:.1%} of the screenshot is one colour: a blank page?"
