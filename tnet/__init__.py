"""tnet: matrix and tensor differential calculus on tensor networks.

The layers, bottom-up (each module imports only the ones before it; docs/design.md):

    errors -> expr -> network -> functions -> ops -> library -> simplify -> diff
    -> planners -> contract -> evaluate -> notation/ -> render (the top-level render/ folder, as tnet.render)

`import tnet` loads everything up to the notation; `import tnet.render` adds the drawings.
"""

from . import contract as _contract
from . import evaluate as _evaluate
from .diff import backprop, differential, grad, gradient_of_differential, hessian, jacobian
from .errors import (
    AxisError,
    BindingError,
    ContractionError,
    DifferentiationError,
    ParseError,
    RenderError,
    ShapeError,
    TnetError,
)
from .evaluate import contraction_path, evaluate
from .expr import Apply, Constant, Delta, Differential, Expr, Ones, Sum, Variable, Zero
from .functions import Function, PowerFunction, apply
from .library import abs, cos, det, exp, inv, log, logdet, logsumexp, relu, sigmoid, sin, softmax, sqrt, tanh
from .network import Network
from .notation import einsum, parse
from .ops import (
    cdot,
    cdot_k,
    delta,
    diag,
    identity,
    kron,
    odot,
    odot_k,
    ones,
    permute,
    sum,
    trace,
    transpose,
    zeros,
)
from .simplify import simplify


def clear_caches() -> None:
    """Empty every cache tnet keeps. None of them changes a result; clearing frees memory and
    makes the next evaluation plan again. The caches:

    - contraction plans, at most 1024, keyed by a network's structure, sizes and planner settings
      (contract.py);
    - evaluation programs, weakly keyed by the first expression evaluated (evaluate.py);
    - prepared networks (Delta and Ones folded away), weakly keyed by the network (evaluate.py).

    The intern table of expressions (expr.py) and the table of element-wise powers
    (functions.py) hold weak references only; they are what makes equal expressions one object
    and are not caches to clear."""
    _contract.clear_cache()
    _evaluate.clear_cache()


__all__ = [
    "Apply", "AxisError", "BindingError", "Constant", "ContractionError", "Delta", "Differential",
    "DifferentiationError", "Expr", "Function", "Network", "Ones", "ParseError", "PowerFunction",
    "RenderError", "ShapeError", "Sum", "TnetError", "Variable", "Zero", "abs", "apply", "backprop", "cdot",
    "cdot_k", "clear_caches", "contraction_path", "cos", "delta", "det", "diag", "differential", "einsum",
    "evaluate", "exp", "grad", "gradient_of_differential", "hessian", "identity", "inv", "jacobian",
    "kron", "log", "logdet", "logsumexp", "odot", "odot_k", "ones", "parse", "permute", "relu", "sigmoid",
    "simplify", "sin", "softmax", "sqrt", "sum", "tanh", "trace", "transpose", "zeros",
]  # fmt: skip
