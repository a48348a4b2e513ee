"""`describe(e)`: the one-line description of an expression that repr() shows."""

from __future__ import annotations

from ..expr import Apply, Call, Constant, Delta, Expr, Ones, Sum, Variable, Zero
from ..network import Network

__all__ = ["describe"]


def describe(e: Expr) -> str:
    """A one-line description of an expression, for repr(): its kind, name or size, and shape."""
    shape = "(" + ", ".join(str(s) for s in e.shape) + ("," if e.ndim == 1 else "") + ")"
    if isinstance(e, (Variable, Constant)):
        return f"{type(e).__name__}({e.name!r}, shape={shape})"
    if isinstance(e, Delta):
        return f"Delta({e.size!r}, order={e.order})"
    if isinstance(e, (Ones, Zero)):
        return f"{type(e).__name__}{shape}"
    if isinstance(e, Network):
        return f"Network[{e.label}, shape={shape}, coef={e.coef:g}]"
    if isinstance(e, Sum):
        return f"Sum[{len(e.terms_)} terms, shape={shape}]"
    if isinstance(e, Apply):
        return f"Apply[{e.fn.name}, axes={list(e.axes)}, shape={shape}]"
    if isinstance(e, Call):
        return f"Call[{e.fn.name}, {len(e.args)} arguments, shape={shape}]"
    return f"{type(e).__name__}{shape}"
