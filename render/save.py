"""Writing drawings to files: the format comes from the file's suffix."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import graphviz

from tnet.errors import RenderError, UnsupportedFormatError
from tnet.expr import Expr

from .dot import to_dot

__all__ = ["save", "require_dot", "pipe", "FORMATS", "MISSING_DOT", "UnsupportedFormatError"]

#: suffix -> Graphviz output format; .dot and .gv write the DOT source itself
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}

MISSING_DOT = (
    "the Graphviz 'dot' program was not found on PATH; install it with "
    "'apt-get install graphviz' (Debian/Ubuntu) or 'brew install graphviz' (macOS), "
    "or save to a .dot file, which needs no program"
)


def require_dot() -> str:
    """The path of the `dot` program; RenderError naming it (and how to install it) if missing."""
    found = shutil.which("dot")
    if found is None:
        raise RenderError(MISSING_DOT)
    return found


def _as_graph(graph_or_expr: graphviz.Graph | graphviz.Digraph | Expr) -> graphviz.Graph | graphviz.Digraph:
    if isinstance(graph_or_expr, Expr):
        return to_dot(graph_or_expr)
    if isinstance(graph_or_expr, (graphviz.Graph, graphviz.Digraph)):
        return graph_or_expr
    raise TypeError(f"save needs a graphviz graph or a tnet expression, got {type(graph_or_expr).__name__}")


def pipe(graph_or_expr: graphviz.Graph | graphviz.Digraph | Expr, fmt: str) -> bytes:
    """The drawing rendered by `dot` in the given format ("svg", "png", "pdf")."""
    graph = _as_graph(graph_or_expr)
    program = require_dot()
    try:
        done: subprocess.CompletedProcess[bytes] = subprocess.run(
            [program, f"-T{fmt}"], input=graph.source.encode("utf-8"), capture_output=True, check=False
        )
    except OSError as err:  # pragma: no cover - dot vanished between the check and the call
        raise RenderError(f"{MISSING_DOT} ({err})") from err
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"the Graphviz 'dot' program failed (exit {done.returncode}): {message}")
    return done.stdout


def save(graph_or_expr: graphviz.Graph | graphviz.Digraph | Expr, path: str | os.PathLike) -> Path:
    """Write a drawing (a graphviz graph, or a tnet expression drawn with `to_dot`) to `path`.

    The format comes from the suffix: .svg, .png, .pdf (rendered by the `dot` program), or
    .dot / .gv (the DOT source, which needs no program). Returns the path written.
    Raises RenderError when `dot` is needed and missing, UnsupportedFormatError (a RenderError and a
    ValueError) for another suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UnsupportedFormatError(
            f"cannot tell the format of {str(path)!r}: use one of the suffixes {', '.join(FORMATS)}"
        )
    graph = _as_graph(graph_or_expr)
    fmt = FORMATS[suffix]
    if fmt is None:
        path.write_text(graph.source, encoding="utf-8")
    else:
        path.write_bytes(pipe(graph, fmt))
    return path
