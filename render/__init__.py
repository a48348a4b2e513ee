"""render: Graphviz drawings of tnet expressions and derivations (DESIGN.md, "Drawing
conventions").

    render.to_dot(expr, title=None)   -> graphviz.Digraph of any tnet expression
    render.derivation(f, X)           -> [(stage name, graph)]: f, df, gradient before and
                                         after simplification
    render.save(graph_or_expr, path)  -> writes .svg .png .pdf (needs the dot program) or .dot
"""

from .derivation import STAGES, derivation, derivation_expressions
from .dot import to_dot
from .save import UnsupportedFormatError, pipe, require_dot, save

__all__ = [
    "STAGES",
    "UnsupportedFormatError",
    "derivation",
    "derivation_expressions",
    "pipe",
    "require_dot",
    "save",
    "to_dot",
]
