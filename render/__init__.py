"""tnet.render: Graphviz drawings of tnet expressions and derivations (DESIGN.md, "Drawing
conventions").

    tnet.render.to_dot(expr, title=None)   -> graphviz.Digraph of any tnet expression
    tnet.render.derivation(f, X)           -> [(stage name, graph)]: f, df, gradient before and
                                              after simplification
    tnet.render.save(graph_or_expr, path)  -> writes .svg .png .pdf (needs the dot program) or .dot

The code lives in the top-level folder render/ of the repository; pyproject.toml maps that
folder into the installed package as `tnet.render` (there is no top-level `render` module).
`import tnet` does not load it: the drawing layer sits above the core.
"""

from tnet.errors import UnsupportedFormatError

from .derivation import STAGES, derivation, derivation_expressions
from .dot import to_dot
from .save import pipe, require_dot, save

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
