"""tnet: matrix and tensor differential calculus on tensor networks.

The pipeline, one module per stage:
    build (ops.py, functions.py) -> network (expr.py, network.py) -> differentiate (diff.py)
    -> simplify (simplify.py) -> contract (contract.py, evaluate.py) -> render (../render).
"""

from .diff import backprop, differential, grad, gradient_of_differential, hessian, jacobian
from .errors import (
    AxisError,
    BindingError,
    DifferentiationError,
    ParseError,
    RenderError,
    ShapeError,
    TnetError,
)
from .evaluate import contraction_path, evaluate
from .expr import Apply, Constant, Delta, Differential, Expr, Network, Ones, Sum, Variable, Zero
from .functions import (
    Function,
    abs,
    cos,
    det,
    exp,
    inv,
    log,
    logdet,
    logsumexp,
    relu,
    sigmoid,
    sin,
    softmax,
    sqrt,
    tanh,
)
from .ops import (
    apply,
    cdot,
    cdot_k,
    delta,
    diag,
    einsum,
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

__all__ = [
    "Apply", "AxisError", "BindingError", "Constant", "Delta", "Differential",
    "DifferentiationError", "Expr", "Function", "Network", "Ones", "ParseError", "RenderError",
    "ShapeError", "Sum", "TnetError", "Variable", "Zero", "abs", "apply", "backprop", "cdot",
    "cdot_k", "contraction_path", "cos", "delta", "det", "diag", "differential", "einsum",
    "evaluate", "exp", "grad", "gradient_of_differential", "hessian", "identity", "inv", "jacobian",
    "kron", "log", "logdet", "logsumexp", "odot", "odot_k", "ones", "permute", "relu", "sigmoid",
    "simplify", "sin", "softmax", "sqrt", "sum", "tanh", "trace", "transpose", "zeros",
]

try:  # the notation issue adds parse(); keep the package importable without it
    from .notation import parse  # noqa: F401

    __all__.append("parse")
except ImportError:  # pragma: no cover
    pass
