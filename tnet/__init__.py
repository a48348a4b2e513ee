"""tnet: matrix and tensor differential calculus on tensor networks.

The layers, bottom-up (each module imports only the ones before it; docs/design.md):

    errors -> expr -> network -> functions -> ops -> library -> elementwise -> indexing
    -> reductions -> losses -> simplify -> diff -> planners -> contract -> evaluate -> compiler/
    -> notation/ -> render (the top-level render/ folder, as tnet.render)

`import tnet` loads everything up to the notation; `import tnet.render` adds the drawings.
"""

from . import compiler as _compiler
from . import contract as _contract
from . import evaluate as _evaluate
from .compiler import (
    Compiled,
    compile,  # noqa: A004 - tnet.compile, as the issue names it; Python's is builtins.compile
    evaluate,
)
from .diff import backprop, differential, grad, gradient_of_differential, hessian, jacobian
from .elementwise import clip, maximum, minimum, where
from .errors import (
    AxisError,
    BindingError,
    CompileError,
    ContractionError,
    DifferentiationError,
    IndexingError,
    LimitError,
    ParseError,
    RenderError,
    ShapeError,
    TnetError,
)
from .evaluate import contraction_path
from .expr import Apply, Call, Constant, Delta, Differential, Expr, Ones, Sum, Variable, Zero
from .functions import Function, PowerFunction, apply, call
from .indexing import concatenate, flatten, index, kron_matrix, one_hot, reshape, stack, take
from .library import (
    abs,
    adj,
    arccos,
    arcsin,
    arctan,
    cos,
    det,
    erf,
    exp,
    expm1,
    gelu,
    inv,
    log,
    log1p,
    log_softmax,
    logdet,
    logsumexp,
    relu,
    sigmoid,
    sign,
    sin,
    softmax,
    softplus,
    sqrt,
    square,
    step,
    tan,
    tanh,
)
from .losses import attention, cross_entropy, layer_norm, logistic_loss, mse
from .network import Network
from .notation import einsum, parse
from .ops import (
    cdot,
    cdot_k,
    delta,
    diag,
    expand_dims,
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
from .reductions import argmax, argmin, frobenius2, max, mean, min, norm, prod, std, var
from .simplify import simplify


def clear_caches() -> None:
    """Empty every cache tnet keeps. None of them changes a result; clearing frees memory and
    makes the next evaluation plan again. The caches:

    - contraction plans, at most 1024, keyed by a network's structure, sizes and planner settings
      (contract.py);
    - evaluation programs, weakly keyed by the first expression evaluated (evaluate.py);
    - prepared networks (Delta and Ones folded away), weakly keyed by the network (evaluate.py);
    - the numpy code `compiler.evaluate` generated, weakly keyed by the first expression evaluated,
      at most 8 sets of sizes each (compiler/__init__.py).

    The intern table of expressions (expr.py) and the table of element-wise powers
    (functions.py) hold weak references only; they are what makes equal expressions one object
    and are not caches to clear."""
    _contract.clear_cache()
    _evaluate.clear_cache()
    _compiler.clear_cache()


__all__ = [
    "abs", "adj", "Apply", "apply", "arccos", "arcsin", "arctan", "argmax", "argmin", "attention", "AxisError",
    "backprop", "BindingError", "Call", "call", "cdot", "cdot_k", "clear_caches", "clip", "compile", "Compiled",
    "CompileError", "concatenate", "Constant", "contraction_path", "ContractionError", "cos", "cross_entropy",
    "Delta", "delta", "det", "diag", "Differential", "differential", "DifferentiationError", "einsum", "erf",
    "evaluate", "exp", "expand_dims", "expm1", "Expr", "flatten", "frobenius2", "Function", "gelu", "grad",
    "gradient_of_differential", "hessian", "identity", "index", "IndexingError", "inv", "jacobian", "kron",
    "kron_matrix", "layer_norm", "LimitError", "log", "log1p", "log_softmax", "logdet", "logistic_loss",
    "logsumexp", "max", "maximum", "mean", "min", "minimum", "mse", "Network", "norm", "odot", "odot_k", "one_hot",
    "Ones", "ones", "parse", "ParseError", "permute", "PowerFunction", "prod", "relu", "RenderError", "reshape",
    "ShapeError", "sigmoid", "sign", "simplify", "sin", "softmax", "softplus", "sqrt", "square", "stack", "std",
    "step", "Sum", "sum", "take", "tan", "tanh", "TnetError", "trace", "transpose", "var", "Variable", "where",
    "Zero", "zeros",
]  # fmt: skip
