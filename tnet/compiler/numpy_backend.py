"""The numpy backend: contraction steps as numpy.matmul on transposed, reshaped views (what
`tnet.evaluate` runs), functions as numpy ufuncs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..evaluate import weak_coefficient
from .backend import Backend, number_source
from .steps import Op

#: adj(X) from an SVD, singular X included (as library.adj computes it); numpy code, which the
#: Dask backend runs on whole matrix blocks too
ADJUGATE = """def _adj(x):
    n = x.shape[-1]
    u, s, vh = np.linalg.svd(x)
    cof = np.prod(np.where(np.eye(n, dtype=bool), 1.0, s[..., None, :]), axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    vh_h, u_h = np.conj(np.swapaxes(vh, -1, -2)), np.conj(np.swapaxes(u, -1, -2))
    out = sign[..., None, None] * (vh_h * cof[..., None, :]) @ u_h
    return out if np.iscomplexobj(x) else out.real"""

#: the dtype of a sum, as numpy.sum chooses it (what contract.sum_dtype computes), and a linear
#: combination in that dtype, term by term as tnet's interpreter adds them (tnet.evaluate's code)
SUM_DTYPE = """def _sum_dtype(*values):
    dtype = np.result_type(*values)
    if dtype.kind == "b" or (dtype.kind == "i" and dtype.itemsize < np.dtype(np.int_).itemsize):
        return np.dtype(np.int_)
    if dtype.kind == "u" and dtype.itemsize < np.dtype(np.uint).itemsize:
        return np.dtype(np.uint)
    return dtype"""

LINEAR_COMBINATION = """def _combine(coefs, *terms):
    dtype = _sum_dtype(*terms, *coefs)
    total = np.empty(np.broadcast_shapes(*(np.shape(t) for t in terms)), dtype)
    total[...] = terms[0] if coefs[0] == 1 else np.multiply(coefs[0], terms[0], dtype=dtype)
    for c, t in zip(coefs[1:], terms[1:]):
        if c == 1:
            np.add(total, t, out=total)
        elif c == -1:
            np.subtract(total, t, out=total)
        else:
            np.add(total, np.multiply(c, t, dtype=dtype), out=total)
    return total"""

#: tnet.evaluate's code checks the arguments of the functions without a complex derivative, and
#: gives NaNs for the inverse of a singular matrix, as the functions' own values do
REAL_ONLY = ("abs", "relu", "sign", "step")

REAL = """def _real(x, name):
    if np.iscomplexobj(x):
        raise TypeError(f"{name} is defined for real arrays only (it has no complex derivative), got {x.dtype}")
    return x"""

INVERSE = """def _inv(x):
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError:  # a singular matrix has no inverse: NaNs, as 1/0 gives inf
        out = np.empty(x.shape, dtype=np.result_type(x, 0.0))
        for k in np.ndindex(x.shape[:-2]):
            try:
                out[k] = np.linalg.inv(x[k])
            except np.linalg.LinAlgError:
                out[k] = np.nan
        return out"""

_HELPERS = {
    "_real": REAL,
    "_inv": INVERSE,
    "_sum_dtype": SUM_DTYPE,
    "_combine": LINEAR_COMBINATION,
    "_adj": ADJUGATE,
    "_softmax": """def _softmax(x):
    z = np.exp(x - x.max(axis=-1, keepdims=True, initial=-np.inf))
    return z / z.sum(axis=-1, keepdims=True)""",
    "_logsumexp": """def _logsumexp(x):
    m = x.max(axis=-1, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.log(np.exp(x - m).sum(axis=-1)) + m[..., 0]""",
}


class NumpyBackend(Backend):
    name = "numpy"
    imports = ("import numpy as np",)
    module = "np"
    array_kind = "numpy arrays (or numbers, or nested lists)"
    functions = {
        "exp": ("np.exp({x})", ()),
        "log": ("np.log({x})", ()),
        "tanh": ("np.tanh({x})", ()),
        "sigmoid": ("np.exp(-np.logaddexp(0.0, -{x}))", ()),
        "relu": ("np.maximum({x}, 0)", ()),
        "step": ("({x} > 0).astype({x}.dtype)", ()),
        "sign": ("np.sign({x})", ()),
        "sqrt": ("np.sqrt({x})", ()),
        "abs": ("np.abs({x})", ()),
        "sin": ("np.sin({x})", ()),
        "cos": ("np.cos({x})", ()),
        "softmax": ("_softmax({x})", ("_softmax",)),
        "logsumexp": ("_logsumexp({x})", ("_logsumexp",)),
        "inv": ("np.linalg.inv({x})", ()),
        "det": ("np.linalg.det({x})", ()),
        "logdet": ("np.linalg.slogdet({x})[1]", ()),
        "adj": ("_adj({x})", ("_adj",)),
        "tan": ("np.tan({x})", ()),
        "arctan": ("np.arctan({x})", ()),
        "arcsin": ("np.arcsin({x})", ()),
        "arccos": ("np.arccos({x})", ()),
        "log1p": ("np.log1p({x})", ()),
        "expm1": ("np.expm1({x})", ()),
        "square": ("np.square({x})", ()),
        "softplus": ("np.logaddexp(0.0, {x})", ()),
        "nonzero": ("({x} != 0).astype(np.result_type({x}, 0.0))", ()),
    }
    helpers = _HELPERS

    def accepts(self, value: Any, namespace: dict[str, Any]) -> bool:
        return isinstance(value, (np.ndarray, np.generic, int, float, complex, list, tuple))

    def concrete(self, value: Any, namespace: dict[str, Any]) -> np.ndarray | None:
        return np.asarray(value)

    def transpose(self, x: str, perm: tuple[int, ...]) -> str:  # the method and `.T`: the cheapest calls
        return f"{x}.T" if perm == tuple(range(len(perm)))[::-1] else f"{x}.transpose({perm!r})"

    def matmul(self, a: str, b: str) -> str:
        return f"{a} @ {b}"

    def literal(self, array: np.ndarray) -> str:
        return f"np.array({_python(array.tolist())}, dtype=np.{array.dtype.name})"

    def ones(self, shape: tuple[int, ...]) -> str:  # a read-only view with zero strides: no memory
        return f"np.broadcast_to(1.0, {shape!r})"

    def zeros(self, shape: tuple[int, ...]) -> str:
        return f"np.broadcast_to(0.0, {shape!r})"

    def full(self, value: Any, shape: tuple[int, ...]) -> str:
        return f"np.broadcast_to({value!r}, {shape!r})"

    def typed_expression(self, op: Op, args: Sequence[str], needed: set[str]) -> str:
        p = dict(op.params)
        if op.kind == "sum_dtype":
            needed.add("_sum_dtype")
            return f"_sum_dtype({', '.join(args)})"
        if op.kind == "apply":
            fn, x = p["fn"], args[0]
            if fn.name in REAL_ONLY:
                needed.add("_real")
                x = f"_real({x}, {fn.name!r})"
            if fn.name == "inv":
                needed.add("_inv")
                return f"_inv({x})"
            return self.apply(fn, x, needed)
        if op.kind == "astype":
            return f"{args[0]}.astype({args[1]}, copy=False)"
        if op.kind == "combine":
            needed.update(("_sum_dtype", "_combine"))
            coefs = ", ".join(_weak_number(c) for c in p["coefs"])
            return f"_combine(({coefs},), {', '.join(args)})"
        dtype = np.dtype(p["dtype"]).name
        if op.kind == "delta":
            if p["order"] == 2:
                return f"np.eye({p['n']}, dtype={dtype!r})"
            out = np.zeros((p["n"],) * p["order"], dtype=p["dtype"])
            out[(np.arange(p["n"]),) * p["order"]] = 1
            return self.literal(out)
        if op.kind == "scalar":  # a 0-d array: it promotes as the array of ones it stands for would
            return f"np.array({_weak_number(p['value'])}, dtype={dtype!r})"
        value = 1 if op.kind == "ones" else 0
        return f"np.broadcast_to(np.array({value}, dtype={dtype!r}), {p['shape']!r})"

    def custom_function(self, fn: Any, x: str, needed: set[str]) -> str:
        """A user's Function: its own numpy value, supplied to the namespace as `_fn_<name>`
        (the source is then not standalone, and says so)."""
        needed.add(custom_name(fn))
        return f"{custom_name(fn)}({x})"


def _python(value: Any) -> str:
    """Python source for a nested list of numbers, inf and nan included (as np.inf, np.nan)."""
    if isinstance(value, list):
        return "[" + ", ".join(_python(v) for v in value) + "]"
    if isinstance(value, float) and not np.isfinite(value):
        return "np.nan" if np.isnan(value) else ("np.inf" if value > 0 else "-np.inf")
    if isinstance(value, complex) and not np.isfinite(value):
        return f"complex({_python(value.real)}, {_python(value.imag)})"
    return repr(value)


def _weak_number(c: Any) -> str:
    """A coefficient as the interpreter gives it to numpy (`evaluate.weak_coefficient`): an
    integral float as a Python int, so that it does not promote an integer array."""
    return number_source(weak_coefficient(c), whole_as_int=False)


def custom_name(fn: Any) -> str:
    """The name under which a user's Function's value is supplied to the generated code."""
    return "_fn_" + "".join(ch if ch.isalnum() else "_" for ch in fn.name)
