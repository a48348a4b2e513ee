"""The command line: `tnet` (a console script) and `python -m tnet`.

    tnet grad "norm2(A*x - b)^2" --wrt x               the gradient, in matrix notation
    tnet grad "x'*A*x" --format matrix,bracket,latex   in several notations
    tnet grad "log(det(X))" --hessian --check          a Hessian, checked numerically
    tnet grad "tr(X*A*X')" --draw out.svg              the pictures of each derivation stage
    tnet grad "x'*A*x" --code torch --sizes n=3        the derivatives as standalone PyTorch code
    tnet serve                                         the local web page (tnet.web)

Exit status: 0 done; 1 the numeric check failed; 2 bad input (a formula or declaration that
cannot be read, shapes that do not fit, an unknown name or option), with the message on stderr
(a formula error shows the formula with a caret under the position)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import TnetError
from .render import save
from .web import serve
from .workbench import BACKENDS, Bounds, Result, check_all, code, code_sizes, derive, stage_graphs

__all__ = ["main"]

FORMATS = ("matrix", "bracket", "latex", "mathml")
CHECK_TOLERANCE = 1e-5  # largest relative error a passing numeric check allows

_EXAMPLES = """examples:
  tnet grad "norm2(A*x - b)^2" --wrt x
  tnet grad "x'*A*x" --format matrix,bracket,latex
  tnet grad "tr(X*A*X')" --wrt X --declare "A: matrix n×n" --check
  tnet grad "log(det(X))" --hessian --check
  tnet grad "softmax(W*x)" --jacobian --wrt x
  tnet grad "sum(exp(X*w))" --draw derivation.svg
  tnet grad "norm2(A*x - b)^2" --wrt x,A --code numpy --sizes m=5,n=3
  tnet serve --port 8000

the formula language: * matrix product, .* Hadamard, ./ element-wise division, ' transpose,
^ power (X^-1 inverse), .^ element-wise power; tr, sum, diag, norm2, norm1 and every tnet
function (exp, log, softmax, det, inv, ...). Undeclared names: upper-case initial = matrix,
otherwise vector; declare scalars and sizes with --declare "c: scalar; A: matrix m×n".

--code BACKEND prints, after the rest, a standalone Python module (it imports only numpy,
torch, jax or dask) defining one function of the formula's variables, by name, that returns
every derivative asked for, in the order of --wrt. The code is generated for concrete sizes:
--sizes sets size names (the ones in the "where" line), the others take the sizes of --check's
random values (--seed). A line starting "# --- code" separates the code from the rest."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tnet",
        description="Differentiate matrix formulas on tensor networks.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{grad,serve}")
    g = commands.add_parser(
        "grad",
        help="differentiate a formula",
        description="Differentiate a formula and print the result.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("formula", help='the formula, e.g. "norm2(A*x - b)^2"')
    g.add_argument(
        "--wrt",
        action="append",
        default=[],
        metavar="NAMES",
        help="variables to differentiate by (comma-separated or repeated; default: all)",
    )
    g.add_argument(
        "--declare",
        "-d",
        action="append",
        default=[],
        metavar="DECL",
        help='declarations, e.g. "A: matrix m×n; c: scalar"',
    )
    kind = g.add_mutually_exclusive_group()
    kind.add_argument("--jacobian", action="store_true", help="the Jacobian (the formula's axes first)")
    kind.add_argument("--hessian", action="store_true", help="the Hessian (of a scalar formula)")
    g.add_argument(
        "--format", default="matrix", metavar="LIST", help=f"notations to print, comma-separated: {', '.join(FORMATS)}"
    )
    g.add_argument("--check", action="store_true", help="compare with central finite differences at random values")
    g.add_argument("--seed", type=int, default=0, help="the seed of the random values of --check (default 0)")
    g.add_argument("--draw", metavar="FILE", help="write the pictures of each stage: FILE-<var>-<k>-<stage>.<suffix>")
    g.add_argument(
        "--code",
        metavar="BACKEND",
        help=f"print the derivatives as standalone Python code for a backend: {', '.join(BACKENDS)}",
    )
    g.add_argument(
        "--sizes",
        action="append",
        default=[],
        metavar="LIST",
        help="the sizes the --code is generated for, e.g. n=3,m=4 (default: those of --check's random values)",
    )
    s = commands.add_parser("serve", help="start the local web page", description="Start the local web page.")
    s.add_argument("--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1, this machine only)")
    s.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    return parser


def _names(values: Sequence[str]) -> list[str]:
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _sizes(values: Sequence[str]) -> dict[str, int]:
    """{name: size} from "n=3,m=4" (comma-separated or repeated); ValueError on a bad item."""
    out: dict[str, int] = {}
    for item in _names(values):
        name, sep, size = item.partition("=")
        if not sep or not name.strip().isidentifier() or not size.strip().isdigit():
            raise ValueError(f"cannot read the size {item!r}: write name=integer, e.g. --sizes n=3,m=4")
        out[name.strip()] = int(size)
    return out


def _print_result(result: Result, formats: list[str]) -> None:
    print(f"f = {result.formula.text}")
    if result.formula.variables:
        print(f"    where {result.formula.declarations()}")
    for d in result.derivatives:
        for k, fmt in enumerate(formats):
            label = d.title if k == 0 else " " * len(d.title)
            prefix = "" if fmt == "matrix" else f"[{fmt}] "
            print(f"{label} = {prefix}{d.text(fmt)}")


def _draw(result: Result, target: str) -> list[Path]:
    """Save each stage's picture next to `target`: out.svg -> out-x-1-function.svg, ..."""
    path = Path(target)
    written = []
    for k, (var, stage, graph) in enumerate(stage_graphs(result), start=1):
        out = path.with_name(f"{path.stem}-{var}-{k}-{stage.replace(' ', '-')}{path.suffix or '.svg'}")
        written.append(save(graph, out))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args.host, args.port)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        print(
            f"tnet: unknown format {', '.join(unknown) or '(none)'}; the formats are {', '.join(FORMATS)}",
            file=sys.stderr,
        )
        return 2
    if args.code is not None and args.code not in BACKENDS:
        known = ", ".join(BACKENDS)
        print(f"tnet: unknown backend {args.code!r} for --code; the backends are {known}", file=sys.stderr)
        return 2
    if args.sizes and args.code is None:
        print("tnet: --sizes sets the sizes of the --code; give --code too", file=sys.stderr)
        return 2
    try:
        given_sizes = _sizes(args.sizes)
    except ValueError as err:
        print(f"tnet: {err}", file=sys.stderr)
        return 2
    kind = "hessian" if args.hessian else "jacobian" if args.jacobian else "gradient"
    try:
        result = derive(args.formula, "\n".join(args.declare), _names(args.wrt), kind, Bounds(max_text=100_000))
        if args.code is not None:
            sizes = code_sizes(result, given_sizes, seed=args.seed)
            source = code(result, args.code, sizes)
    except TnetError as err:
        print(f"tnet: {err}", file=sys.stderr)
        return 2
    _print_result(result, formats)
    status = 0
    if args.check:
        check_all(result, seed=args.seed)
        worst = max((d.check or 0.0 for d in result.derivatives), default=0.0)
        verdict = "passed" if worst <= CHECK_TOLERANCE else "FAILED"
        print(
            f"check: {verdict}, largest relative error {worst:.3g} "
            f"(central differences at random values, seed {args.seed})"
        )
        status = 0 if worst <= CHECK_TOLERANCE else 1
    if args.draw:
        try:
            for path in _draw(result, args.draw):
                print(f"wrote {path}")
        except (TnetError, OSError) as err:
            print(f"tnet: cannot draw: {err}", file=sys.stderr)
            return 2
    if args.code is not None:
        shown = ", ".join(f"{k}={v}" for k, v in sizes.items()) or "none"
        print(f"# --- code ({args.code}; sizes {shown}; returns {', '.join(d.title for d in result.derivatives)})")
        print(source, end="")
    return status
