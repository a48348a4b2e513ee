"""Element-wise functions of several tensors, with numpy broadcasting: maximum, minimum, where
and clip. maximum, minimum and where are the library's several-argument Functions (`Call`
nodes); the arguments are broadcast to one shape first (a broadcast axis is a Ones node).

- maximum(a, b), minimum(a, b): at a tie (a = b) the derivative is split evenly, ½ to each.
- where(cond, a, b): cond is a constant boolean array, or a 0/1 expression such as step(x);
  only the chosen branch enters the value.
  The derivative is c ⊙ da + (1 - c) ⊙ db, so a branch whose derivative is infinite where it is
  not chosen still gives 0 · inf = NaN there, as in other frameworks.
- clip(x, lo, hi) = minimum(maximum(x, lo), hi) with scalar bounds."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ShapeError
from .expr import Apply, Constant, Expr, as_expr
from .functions import apply, call
from .ops import broadcast_shapes, broadcast_to


def _broadcast(name: str, *args: Any) -> list[Expr]:
    exprs = [as_expr(a, f"{name} argument {k}") for k, a in enumerate(args)]
    shape: tuple = ()
    for e in exprs:
        shape = broadcast_shapes(shape, e.shape, name)
    return [broadcast_to(e, shape) for e in exprs]


def maximum(a: Any, b: Any) -> Expr:
    """Element-wise maximum, broadcasting; ties split the derivative evenly."""
    return call("maximum", *_broadcast("maximum", a, b))


def minimum(a: Any, b: Any) -> Expr:
    """Element-wise minimum, broadcasting; ties split the derivative evenly."""
    return call("minimum", *_broadcast("minimum", a, b))


def clip(a: Any, lo: float | None = None, hi: float | None = None) -> Expr:
    """numpy.clip with scalar bounds (either may be None)."""
    out = as_expr(a)
    if lo is not None and hi is not None and not lo <= hi:
        raise ValueError(f"clip: need lo <= hi, got lo={lo} and hi={hi}")
    if lo is not None:
        out = maximum(out, float(lo))
    if hi is not None:
        out = minimum(out, float(hi))
    return out


def where(cond: Any, a: Any, b: Any) -> Expr:
    """numpy.where: a where the condition holds, else b. The condition is a boolean array, or
    an expression, which holds where it is nonzero as in numpy (`tnet.step(x)`, or `x` itself);
    it is not differentiated (a choice: its derivative is 0). It must broadcast to the shape of
    the branches (it cannot enlarge it)."""
    if isinstance(cond, Expr):
        is_mask = isinstance(cond, Apply) and cond.fn.name in ("step", "nonzero") and not cond.core_axes
        mask: Expr = cond if is_mask else apply("nonzero", cond)
    else:
        c = np.asarray(cond)
        if c.dtype != bool:
            raise TypeError(f"where: the condition must be a boolean array or an expression, got dtype {c.dtype}")
        mask = Constant(f"[{np.array2string(c.astype(int), threshold=6, separator=',')}]", c.astype(float))
    a_e, b_e = as_expr(a, "where branch a"), as_expr(b, "where branch b")
    branches = broadcast_shapes(a_e.shape, b_e.shape, "where")
    try:
        full = broadcast_shapes(branches, mask.shape, "where")
    except ShapeError:
        full = None
    if full is None or tuple(full) != tuple(branches):
        raise ShapeError(
            f"where: the condition has shape {mask.shape}, which does not broadcast to the branches' shape {branches}"
        )
    return call("where", *_broadcast("where", mask, a_e, b_e))
