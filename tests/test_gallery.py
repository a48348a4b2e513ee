"""gallery/: building it verifies every example of the paper, writes the README, the SVGs and
one self-contained page; a failing check makes `python -m gallery` exit non-zero.

The gallery is a tool of the repository, not installed: tests/conftest.py loads the package
`gallery` by path, so the in-process tests below import it as usual; the command line runs as
a subprocess `python -m gallery --out DIR` from the checkout, as `make gallery` runs it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gallery import build as gallery_build
from gallery.entry import Entry, Outcome
from gallery.examples import MODULES, load_entries

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "gallery"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz 'dot' program is not installed")

#: the examples the paper works through, which the gallery must hold (slug prefixes)
REQUIRED = [
    "sec2-1-matrix-product",  # M1, M2, M3
    "sec2-2-eq4-eq5",  # eq. 4 and eq. 5
    "sec2-4-associativity",
    "sec4-3-5-softmax",
    "sec4-4-trace",
    "sec4-4-inverse",
    "sec4-4-determinant",
    "sec5-linear",  # a^T x
    "sec5-quadratic",  # x^T A x
    "sec5-bilinear",  # a^T X b
    "sec5-axxa",  # a^T X X^T a
    "sec5-trace-inverse",  # tr(A X^-1 B)
    "sec5-outer",  # x x^T
    "sec6-1-single-layer",
    "sec6-2-multi-layer",
    "sec6-3-classification",
    "sec6-4-rnn",
    "sec6-4-expression48",
    # the vocabulary of real models (issue 10)
    "ml-softmax-regression",
    "ml-layer-norm-mlp",
    "ml-attention",
    "ml-logistic-hessian",
    "ml-gaussian-nll",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The whole gallery, built into a temporary directory (a few seconds)."""
    out = tmp_path_factory.mktemp("gallery")
    reports = gallery_build.build(out)
    return out, reports


def test_the_gallery_holds_every_example_of_the_paper():
    slugs = [e.slug for e in load_entries()]
    assert slugs == REQUIRED
    assert len(MODULES) == len(slugs) == len(set(slugs))


@pytest.mark.parametrize("entry", load_entries(), ids=lambda e: e.slug)
def test_every_entry_derives_and_checks_without_drawing(entry):
    """The numeric checks alone (no dot program needed)."""
    report, outcome = gallery_build.run_entry(entry)
    assert report.ok, f"{entry.slug}: {report.failure or report.errors}"
    assert outcome is not None and outcome.figures


@needs_dot
def test_every_numeric_check_passes(built):
    _, reports = built
    for r in reports:
        assert r.ok, f"{r.entry.slug}: {r.failure or r.errors}"
        assert r.errors and r.worst <= r.entry.tolerance
        assert r.seconds > 0


@needs_dot
def test_files_written(built):
    out, reports = built
    readme = (out / "README.md").read_text(encoding="utf-8")
    page = (out / "site" / "index.html").read_text(encoding="utf-8")
    svgs = sorted(p.name for p in (out / "svg").glob("*.svg"))
    figures = [name for r in reports for _, name in r.figures]
    assert sorted(figures) == svgs and len(svgs) >= 2 * len(reports)
    for r in reports:
        e = r.entry
        assert f'<a id="{e.slug}"></a>' in readme and f'<section id="{e.slug}">' in page
        assert e.formula in readme
        assert "max error:" in readme and "derived in" in readme
    for name in re.findall(r"\]\(svg/([^)]+)\)", readme):
        assert (out / "svg" / name).read_text(encoding="utf-8").lstrip().startswith("<?xml")
    for name in svgs:
        assert f"(svg/{name})" in readme


@needs_dot
def test_the_page_is_self_contained(built):
    out, reports = built
    page = (out / "site" / "index.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/svg+xml;base64,') == sum(len(r.figures) for r in reports)
    assert "<link" not in page and not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "nothing is loaded from the network"
    assert not re.search(r"url\(", page)
    svg = next((out / "svg").glob("*.svg")).read_text(encoding="utf-8")
    assert "<!DOCTYPE" not in svg, "no DTD address in the pictures"


@needs_dot
def test_the_page_typesets_every_formula(built):
    """Every paper formula and every result is MathML (the browser typesets it), well formed."""
    out, reports = built
    page = (out / "site" / "index.html").read_text(encoding="utf-8")
    formulas = re.findall(r'<div class="formula"[^>]*>(<math.*?</math>)</div>', page)
    assert len(formulas) == len(reports)
    results = re.findall(r'<div class="typeset">[^<]*(<math.*?</math>)</div>', page)
    assert len(results) == sum(len(r.printed) for r in reports)
    for math in formulas + results:
        ET.fromstring(math)
    product = next(f for f, r in zip(formulas, reports) if "⊙^{32}" in r.entry.formula)
    assert "<msup><mi>A</mi><mrow><mn>12</mn></mrow></msup>" in product


@needs_dot
def test_printed_results_and_timings(built):
    _, reports = built
    for r in reports:
        assert r.printed, r.entry.slug
        for _label, forms in r.printed:
            assert forms[0][0] == "repr"


@needs_dot
def test_the_build_is_deterministic_except_timings(tmp_path):
    entries = [e for e in load_entries() if e.slug in ("sec5-axxa", "sec6-4-expression48", "sec4-3-5-softmax")]

    def once(where: Path) -> tuple[dict[str, bytes], str]:
        gallery_build.build(where, entries)
        svgs = {p.name: p.read_bytes() for p in (where / "svg").glob("*.svg")}
        readme = (where / "README.md").read_text(encoding="utf-8")
        return svgs, re.sub(r"\d+(\.\d+)? m?s\b", "T", readme)

    assert once(tmp_path / "a") == once(tmp_path / "b")


def _failing_entry() -> Entry:
    def derive() -> Outcome:
        return Outcome()

    return Entry(
        slug="broken", section="0", title="broken", formula="1 = 2", derive=derive, check=lambda o: {"1 vs 2": 1.0}
    )


@needs_dot
def test_a_failing_check_makes_the_command_exit_non_zero(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gallery_build, "load_entries", lambda: [_failing_entry()])
    assert gallery_build.main(["--out", str(tmp_path)]) == 1
    assert "FAILED: broken" in capsys.readouterr().err
    assert "✗ FAILED" in (tmp_path / "README.md").read_text(encoding="utf-8")


@needs_dot
def test_a_raising_entry_is_reported(tmp_path):
    def derive() -> Outcome:
        raise ValueError("no such tensor")

    bad = Entry(slug="raises", section="0", title="t", formula="f", derive=derive, check=lambda o: {})
    (report,) = gallery_build.build(tmp_path, [bad])
    assert not report.ok and "no such tensor" in report.failure


def run_gallery(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m gallery ARGS` run from the checkout (which puts gallery/ on its path), with the
    test environment's python, where tnet and tnet.render are installed."""
    return subprocess.run(
        [sys.executable, "-m", "gallery", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_command_without_dot_names_the_missing_program(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    done = run_gallery("--out", str(tmp_path / "g"), "--only", "sec5-linear", env={"PATH": str(empty)})
    assert done.returncode == 2
    assert "'dot'" in done.stderr and "install" in done.stderr


def test_the_command_needs_an_output_folder():
    done = run_gallery("--only", "sec5-linear")
    assert done.returncode == 2
    assert "--out" in done.stderr


@needs_dot
def test_the_command_writes_into_the_folder_it_is_given(tmp_path):
    out = tmp_path / "somewhere" / "else"
    done = run_gallery("--out", str(out), "--only", "sec5-linear")
    assert done.returncode == 0, done.stderr
    assert "1/1 entries verified" in done.stdout
    assert (out / "README.md").is_file() and (out / "site" / "index.html").is_file()
    assert len(list((out / "svg").glob("*.svg"))) == 4


@needs_dot
def test_the_command_builds_a_selection(tmp_path, capsys):
    assert gallery_build.main(["--out", str(tmp_path), "--only", "sec5-axxa", "sec4-4-trace"]) == 0
    text = capsys.readouterr().out
    assert "2/2 entries verified" in text
    assert len(list((tmp_path / "svg").glob("*.svg"))) == 8


def test_the_committed_gallery_lists_every_entry():
    """gallery/README.md, svg/ and site/index.html are committed so that they can be browsed
    without running anything; rebuild them (make gallery) after changing an entry."""
    readme = (GALLERY / "README.md").read_text(encoding="utf-8")
    page = (GALLERY / "site" / "index.html").read_text(encoding="utf-8")
    for entry in load_entries():
        assert f'<a id="{entry.slug}"></a>' in readme and f'<section id="{entry.slug}">' in page, entry.slug
    for name in re.findall(r"\]\(svg/([^)]+)\)", readme):
        assert (GALLERY / "svg" / name).is_file(), name
    assert "✗ FAILED" not in readme
