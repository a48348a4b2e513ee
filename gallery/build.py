"""Build the gallery: derive every example with tnet, check it against the paper's closed form
in numpy, draw it, and write `README.md` (with the SVGs in `svg/`) and one self-contained page,
`site/index.html` (the SVGs inlined as data: URIs; the page loads nothing from the network).

The build is deterministic (fixed seeds, deterministic drawings) except for the timings."""

from __future__ import annotations

import argparse
import base64
import html
import inspect
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tnet import render
from tnet.errors import RenderError
from tnet.expr import Expr
from tnet.notation.mathml_out import matrix_to_mathml, to_mathml

from .entry import Entry, Outcome
from .examples import load_entries

#: the most characters of one printed form shown
PRINT_LIMIT = 1500
READING_GUIDE = (
    "How to read the pictures: one node per tensor occurrence (dX in gold). The small numbered cells "
    "of a node are its legs, numbered by axis (1-based, the paper's subscripts); every line starts and "
    "ends at a leg. A black dot is a hyperedge: three or more legs, or a fused output. The blue cells "
    "at the bottom are the output axes, in order from left to right. Green boxes are function "
    "applications drawn around their argument; dashed purple boxes are sums, with one box per term "
    "labelled by its coefficient; brown boxes are products used as one tensor. A box that is used "
    "several times is drawn once, named (e.g. tanh#1), and each use is a dashed node with that name."
)
NOTATIONS = (("bracket", "to_bracket"), ("matrix", "to_matrix"), ("LaTeX", "to_latex"), ("einsum", "to_einsum"))


@dataclass
class Report:
    """What building one entry produced."""

    entry: Entry
    seconds: float = 0.0
    errors: dict[str, float] = field(default_factory=dict)
    failure: str | None = None  #: an exception raised by derive() or check()
    figures: list[tuple[str, str]] = field(default_factory=list)  #: (caption, svg file name)
    svgs: list[str] = field(default_factory=list)  #: the SVG texts, in figure order
    printed: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    typeset: list[tuple[str, str]] = field(default_factory=list)  #: (label, MathML of the result in matrix notation)
    unavailable: set[str] = field(default_factory=set)  #: notation printers that raised

    @property
    def worst(self) -> float:
        return max(self.errors.values(), default=float("nan"))

    @property
    def ok(self) -> bool:
        return (
            self.failure is None and bool(self.errors) and all(e <= self.entry.tolerance for e in self.errors.values())
        )


# ---------------------------------------------------------------------------------------------
# running the entries
# ---------------------------------------------------------------------------------------------
def _shorten(text: str) -> str:
    if len(text) <= PRINT_LIMIT:
        return text
    return text[:PRINT_LIMIT] + f" … ({len(text) - PRINT_LIMIT} more characters)"


def printed_forms(e: Expr, names: dict[Expr, str] | None = None) -> tuple[list[tuple[str, str]], set[str]]:
    """The result as tnet prints it: repr, and each notation whose printer is available
    (einsum only for one term). `names` prints the given sub-expressions by name."""
    forms = [("repr", repr(e))]
    missing = set()
    for name, method in NOTATIONS:
        try:
            text = getattr(e, method)(names=names) if names and method != "to_einsum" else getattr(e, method)()
        except (NotImplementedError, AttributeError, ImportError) as err:
            missing.add(f"{method} ({type(err).__name__})")
            continue
        except Exception:  # einsum of a sum, or a notation it cannot print: leave it out
            continue
        forms.append((name, str(text)))
    return [(name, _shorten(text)) for name, text in forms], missing


def run_entry(entry: Entry) -> tuple[Report, Outcome | None]:
    """Derive (timed) and check one entry."""
    report = Report(entry)
    try:
        start = time.perf_counter()
        outcome = entry.derive()
        report.seconds = time.perf_counter() - start
    except Exception as err:  # a broken entry is reported, not fatal to the whole gallery
        report.failure = f"derive() raised {type(err).__name__}: {err}"
        return report, None
    try:
        report.errors = {k: float(v) for k, v in entry.check(outcome).items()}
    except Exception as err:
        report.failure = f"check() raised {type(err).__name__}: {err}"
    for label, e in outcome.results:
        forms, missing = printed_forms(e, outcome.names)
        report.printed.append((label, forms))
        report.unavailable |= missing
        try:
            report.typeset.append((label, to_mathml(e, "matrix", names=outcome.names)))
        except Exception:  # a result matrix notation cannot print: its printed forms remain
            pass
    return report, outcome


def _warm_up() -> None:
    """Derive one small example untimed, so that the first entry's time does not include the
    one-off cost of imports and caches."""
    import tnet

    a, x = tnet.Variable("_a", 3), tnet.Variable("_X", 3, 2)
    tnet.evaluate(tnet.grad(a @ x @ x.T @ a, x), {a: [1.0, 2.0, 3.0], x: [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]})


def _clean_svg(svg: str) -> str:
    """The SVG without its DOCTYPE (whose DTD address nothing needs to load)."""
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg, flags=re.S)


def _draw(job: tuple[str, Expr]) -> str:
    caption, e = job
    return _clean_svg(render.pipe(render.to_dot(e, title=caption), "svg").decode("utf-8"))


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def _fmt_error(x: float) -> str:
    return f"{x:.1e}"


def _fmt_time(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _status(report: Report) -> str:
    return "✓" if report.ok else "✗ FAILED"


def _check_source(entry: Entry) -> str:
    try:
        return inspect.getsource(entry.check)
    except (OSError, TypeError):  # pragma: no cover
        return ""


def write_readme(reports: Sequence[Report], out_dir: Path) -> Path:
    """gallery/README.md: Markdown that a code host shows, with the SVGs beside it."""
    lines = [
        "# Gallery: the paper's examples, derived, drawn and checked by tnet",
        "",
        "Generated by `make gallery` (`python -m gallery --out gallery`); do not edit by hand. Every entry "
        "builds the paper's expression with tnet, derives and simplifies it, draws the networks, and checks tnet's "
        "result against the paper's closed form computed with numpy on random arrays (fixed seeds). "
        "The same pages, in one self-contained file: [site/index.html](site/index.html).",
        "",
        READING_GUIDE,
        "",
        "| section | example | max error | derived in | check |",
        "|---|---|---|---|---|",
    ]
    for r in reports:
        e = r.entry
        lines.append(
            f"| {e.section} | [{e.title}](#{e.slug}) | {_fmt_error(r.worst)} | {_fmt_time(r.seconds)} | {_status(r)} |"
        )
    missing = sorted(set().union(*(r.unavailable for r in reports))) if reports else []
    if missing:
        lines += ["", f"Notation printers not available in this build: {', '.join(missing)}."]
    for r in reports:
        e = r.entry
        lines += [
            "",
            f'<a id="{e.slug}"></a>',
            "",
            f"## {e.section} — {e.title}",
            "",
            f"**Formula (paper):** `{e.formula}`",
        ]
        if e.note:
            lines += ["", e.note]
        for caption, name in r.figures:
            lines += ["", f"![{caption}](svg/{name})"]
        lines += ["", "**Result, as tnet prints it**", ""]
        for label, forms in r.printed:
            lines += ["```text", f"{label}:"]
            lines += [f"  {name}: {text}" for name, text in forms]
            lines += ["```"]
        lines += ["", "**Numeric check** (tnet's result against the paper's closed form in numpy):", ""]
        lines += ["| compared | max error |", "|---|---|"]
        lines += [f"| {what.replace('|', '∣')} | {_fmt_error(err)} |" for what, err in r.errors.items()]
        if r.failure:
            lines += ["", f"**FAILED:** {r.failure}"]
        lines += ["", f"max error: {_fmt_error(r.worst)} · derived in {_fmt_time(r.seconds)} · {_status(r)}"]
        source = _check_source(e)
        if source:
            lines += [
                "",
                "<details><summary>the check, in numpy</summary>",
                "",
                "```python",
                source.rstrip(),
                "```",
                "",
                "</details>",
            ]
    path = out_dir / "README.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


#: the page's own check, run by the browser on load (tests/test_browser.py reads its result):
#: it counts the images that did not load and the errors seen, into <pre id="page-check">
PAGE_CHECK_SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener('error', function (ev) {
    var what = ev.message || (ev.target && ev.target.tagName ? 'could not load a ' + ev.target.tagName : 'error');
    errors.push(what);
  }, true);
  var original = console.error;
  console.error = function () {
    errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
  window.addEventListener('load', function () {
    var images = document.images, broken = [];
    for (var i = 0; i < images.length; i++) {
      if (!(images[i].complete && images[i].naturalWidth > 0)) broken.push(images[i].alt || ('image ' + i));
    }
    var out = document.getElementById('page-check');
    out.setAttribute('data-images', String(images.length));
    out.setAttribute('data-broken', String(broken.length));
    out.setAttribute('data-errors', String(errors.length));
    out.textContent = 'page self-check: ' + images.length + ' images, ' + broken.length + ' not loaded, '
      + errors.length + ' errors' + (broken.length ? '\\nnot loaded: ' + broken.join('; ') : '')
      + (errors.length ? '\\n' + errors.join('\\n') : '');
  });
  document.addEventListener('click', function (ev) {
    if (ev.target && ev.target.classList && ev.target.classList.contains('net')) ev.target.classList.toggle('full');
  });
})();
"""

_STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 0; color: #1b1b1b;
       background: #fafafa; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 1.2em 1.5em 3em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2.2em; border-bottom: 1px solid #ddd; }
.formula { font-family: 'DejaVu Serif', Georgia, serif; background: #eef3fb; border-left: 4px solid #1565c0;
           padding: .5em .8em; white-space: pre-wrap; }
.figs { display: flex; flex-wrap: wrap; gap: .8em; align-items: flex-start; margin: 1em 0; }
figure { margin: 0; background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: .5em;
         max-width: 100%; box-sizing: border-box; overflow: auto; }
img.net { max-width: 100%; height: auto; cursor: zoom-in; display: block; }
img.net.full { max-width: none; cursor: zoom-out; }
pre { background: #f4f4f4; padding: .6em; overflow: auto; font-size: .85em; white-space: pre-wrap;
      word-break: break-all; }
table { border-collapse: collapse; font-size: .92em; }
td, th { border: 1px solid #ddd; padding: .25em .6em; text-align: left; }
.ok { color: #2e7d32; font-weight: 600; } .bad { color: #c62828; font-weight: 600; }
#page-check { color: #555; font-size: .8em; }
"""


def write_site(reports: Sequence[Report], out_dir: Path) -> Path:
    """site/index.html: one self-contained page (inline CSS, script and SVGs)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>tnet gallery: the paper's examples</title>",
        f"<style>{_STYLE}</style>",
        f"<script>{PAGE_CHECK_SCRIPT}</script>",
        "</head><body><main>",
        "<h1>tnet gallery: the paper's examples, derived, drawn and checked</h1>",
        "<p>Every entry builds the expression of <em>Matrix Differential Calculus with Tensors</em> with tnet, "
        "derives and simplifies it, draws the tensor networks, and checks the result against the paper's "
        "closed form computed with numpy (fixed random arrays). Click a picture to see it at full size.</p>",
        f"<p>{esc(READING_GUIDE)}</p>",
        "<table><tr><th>section</th><th>example</th><th>max error</th><th>derived in</th><th>check</th></tr>",
    ]
    for r in reports:
        e = r.entry
        cls = "ok" if r.ok else "bad"
        parts.append(
            f'<tr><td>{esc(e.section)}</td><td><a href="#{e.slug}">{esc(e.title)}</a></td>'
            f"<td>{_fmt_error(r.worst)}</td><td>{_fmt_time(r.seconds)}</td>"
            f'<td class="{cls}">{esc(_status(r))}</td></tr>'
        )
    parts.append("</table>")
    missing = sorted(set().union(*(r.unavailable for r in reports))) if reports else []
    if missing:
        parts.append(f"<p>Notation printers not available in this build: {esc(', '.join(missing))}.</p>")
    for r in reports:
        e = r.entry
        parts += [f'<section id="{e.slug}">', f"<h2>{esc(e.section)} — {esc(e.title)}</h2>"]
        parts.append(f'<div class="formula" title="{esc(e.formula)}">{matrix_to_mathml(e.formula)}</div>')
        if e.note:
            parts.append(f"<p>{esc(e.note)}</p>")
        parts.append('<div class="figs">')
        for (caption, _), svg in zip(r.figures, r.svgs):
            data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
            parts.append(
                f'<figure><img class="net" alt="{esc(caption)}" title="{esc(caption)}" '
                f'src="data:image/svg+xml;base64,{data}"></figure>'
            )
        parts.append("</div>")
        parts.append("<h3>Result, as tnet prints it</h3>")
        parts += [f'<div class="typeset">{esc(label)}: {math}</div>' for label, math in r.typeset]
        for label, forms in r.printed:
            body = "\n".join(f"  {name}: {text}" for name, text in forms)
            parts.append(f"<pre>{esc(label)}:\n{esc(body)}</pre>")
        parts.append("<h3>Numeric check</h3><table><tr><th>compared</th><th>max error</th></tr>")
        parts += [f"<tr><td>{esc(what)}</td><td>{_fmt_error(err)}</td></tr>" for what, err in r.errors.items()]
        parts.append("</table>")
        if r.failure:
            parts.append(f'<p class="bad">FAILED: {esc(r.failure)}</p>')
        cls = "ok" if r.ok else "bad"
        parts.append(
            f"<p>max error: {_fmt_error(r.worst)} · derived in {_fmt_time(r.seconds)} · "
            f'<span class="{cls}">{esc(_status(r))}</span></p>'
        )
        source = _check_source(e)
        if source:
            parts.append(f"<details><summary>the check, in numpy</summary><pre>{esc(source.rstrip())}</pre></details>")
        parts.append("</section>")
    parts += ['<pre id="page-check">page self-check: not run</pre>', "</main></body></html>"]
    site = out_dir / "site"
    site.mkdir(parents=True, exist_ok=True)
    path = site / "index.html"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# the whole build
# ---------------------------------------------------------------------------------------------
def build(
    out_dir: str | os.PathLike,
    entries: Sequence[Entry] | None = None,
    jobs: int | None = None,
    log: Callable[[str], object] | None = None,
) -> list[Report]:
    """Run, check and draw the entries (all by default) and write out_dir/README.md,
    out_dir/svg/*.svg and out_dir/site/index.html. Returns one Report per entry.
    Raises RenderError when the Graphviz `dot` program is missing."""
    render.require_dot()
    out_dir = Path(out_dir)
    entries = list(load_entries() if entries is None else entries)
    _warm_up()
    reports: list[Report] = []
    drawings: list[tuple[Report, str, Expr]] = []
    for entry in entries:
        report, outcome = run_entry(entry)
        reports.append(report)
        if outcome is not None:
            for k, (caption, e) in enumerate(outcome.figures, start=1):
                drawings.append((report, caption, e))
                report.figures.append((caption, f"{entry.slug}-{k}.svg"))
        if log:
            mark = "ok  " if report.ok else "FAIL"
            log(
                f"{mark} {entry.section:<22} {entry.title[:52]:<52} max error {_fmt_error(report.worst)}  "
                f"derived in {_fmt_time(report.seconds)}"
            )
            if report.failure:
                log(f"     {report.failure}")
    workers = jobs or min(8, (os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        svgs = list(pool.map(_draw, [(caption, e) for _, caption, e in drawings]))
    svg_dir = out_dir / "svg"
    svg_dir.mkdir(parents=True, exist_ok=True)
    for old in svg_dir.glob("*.svg"):
        old.unlink()
    index = 0
    for report in reports:
        for _, name in report.figures:
            svg = svgs[index]
            index += 1
            report.svgs.append(svg)
            (svg_dir / name).write_text(svg, encoding="utf-8")
    write_readme(reports, out_dir)
    write_site(reports, out_dir)
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m gallery --out DIR`: build the gallery into DIR; exit 1 if any numeric check fails."""
    parser = argparse.ArgumentParser(prog="python -m gallery", description=__doc__)
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="the folder to write README.md, svg/ and site/index.html into (created if missing); "
        "`make gallery` passes --out gallery, the committed gallery, so keep partial builds "
        "(--only, --quick) elsewhere",
    )
    parser.add_argument(
        "--only", nargs="*", metavar="SLUG", help="build only the entries whose slug contains one of these"
    )
    parser.add_argument("--quick", action="store_true", help="leave out the slow entries (deep nets)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel dot processes")
    args = parser.parse_args(argv)
    entries = load_entries()
    if args.only:
        entries = [e for e in entries if any(s in e.slug for s in args.only)]
    if args.quick:
        entries = [e for e in entries if not e.slow]
    if not entries:
        print("error: no entry matches --only " + " ".join(args.only or []), file=sys.stderr)
        return 2
    out = Path(args.out)
    start = time.perf_counter()
    try:
        reports = build(out, entries, jobs=args.jobs, log=print)
    except RenderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = [r for r in reports if not r.ok]
    print(
        f"\n{len(reports) - len(failed)}/{len(reports)} entries verified in {time.perf_counter() - start:.1f} s; "
        f"wrote {out / 'README.md'}, {out / 'svg'}/, {out / 'site' / 'index.html'}"
    )
    if failed:
        print("FAILED: " + ", ".join(r.entry.slug for r in failed), file=sys.stderr)
        return 1
    return 0
