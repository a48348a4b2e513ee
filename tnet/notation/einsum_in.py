"""Einsum specs in: numpy's einsum strings ("ij,jk->ik", implicit output, "..." for leading axes).

`einsum(spec, *operands)` builds the expression (it is `tnet.einsum`); `parse_einsum(spec,
ndims)` reads a spec alone; `read_spec` reads a spec that is part of a longer text (the
``einsum("ab,c->abc", A, a)`` of matrix notation), so that its errors point into that text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..expr import Expr, as_expr
from ..network import combine
from .scan import Scanner

__all__ = ["einsum", "parse_einsum", "read_spec"]


def einsum(spec: str, *operands: Any) -> Expr:
    """Any einsum string, as numpy.einsum: "ij,jk->ik", implicit output ("ij,jk"), "..." for
    leading axes. An index shared by three or more operands is a hyperedge."""
    exprs = [as_expr(o, f"einsum operand {k}") for k, o in enumerate(operands)]
    inputs, output = parse_einsum(spec, [o.ndim for o in exprs])
    return combine(exprs, inputs, output)


def parse_einsum(spec: str, ndims: Sequence[int]) -> tuple[list[list[str]], list[str]]:
    """The index list of each operand and the output list, numpy's rules: without "->" the
    output is every index used exactly once, in alphabetical order; "..." stands for the
    leading axes an operand has beyond its letters (broadcast axes must agree in count here)."""
    if not isinstance(spec, str):
        raise TypeError(f"einsum: the spec must be a str, got {type(spec).__name__}")
    return read_spec(Scanner(spec), len(spec), ndims)


def read_spec(sc: Scanner, end: int, ndims: Sequence[int]) -> tuple[list[list[str]], list[str]]:
    """The spec between the scanner's position and `end` (see `parse_einsum`); spaces are
    ignored; errors point into the scanner's text."""
    start = sc.pos
    body = sc.text[start:end]
    arrow = body.find("->")
    if arrow != -1 and body.find("->", arrow + 1) != -1:
        raise sc.error("einsum: '->' appears more than once", start + body.find("->", arrow + 1))
    lhs_end = start + arrow if arrow != -1 else end
    operands = sc.text.count(",", start, lhs_end) + 1
    if operands != len(ndims):
        raise sc.error(f"einsum: the spec names {operands} operands but {len(ndims)} were given", start)
    inputs: list[list[str]] = []
    ellipsis: int | None = None  # how many axes "..." stands for
    for k, nd in enumerate(ndims):
        sc.skip_ws()
        part_start = sc.pos
        part_end = sc.text.find(",", part_start, lhs_end)
        part_end = lhs_end if part_end == -1 else part_end
        part = "".join(sc.text[part_start:part_end].split())
        letters: list[str] = []
        while sc.pos < part_end:
            ch = sc.peek()
            if sc.startswith("..."):
                n = nd - len(part.replace("...", ""))
                if n < 0:
                    raise sc.error(f"einsum: operand {k} has {nd} axes, fewer than its indices")
                if ellipsis is not None and n not in (ellipsis, 0):
                    raise sc.error("einsum: '...' stands for different numbers of axes")
                ellipsis = max(ellipsis or 0, n)
                letters.extend(f"...{m + (ellipsis - n)}" for m in range(n))
                sc.pos += 3
            elif ch.isalpha():
                letters.append(ch)
                sc.pos += 1
            elif ch.isspace():
                sc.pos += 1
            else:
                raise sc.error(f"einsum: unexpected character {ch!r}; indices are letters")
        if len(letters) != nd:
            raise sc.error(
                f"einsum: operand {k} has {nd} axes but its indices {part!r} name {len(letters)}", part_start
            )
        inputs.append(letters)
        sc.pos = part_end + 1
    leading = [f"...{m}" for m in range(ellipsis or 0)]
    if arrow == -1:
        sc.pos = end
        counts: dict[str, int] = {}
        for letters in inputs:
            for ch in letters:
                counts[ch] = counts.get(ch, 0) + 1
        return inputs, leading + sorted(ch for ch, n in counts.items() if n == 1 and not ch.startswith("..."))
    sc.pos = lhs_end + 2
    out: list[str] = []
    while sc.pos < end:
        ch = sc.peek()
        if sc.eat("..."):
            out.extend(leading)
            continue
        if ch.isspace():
            sc.pos += 1
            continue
        if not ch.isalpha():
            raise sc.error(f"einsum: unexpected character {ch!r} in the output")
        if ch in out:
            raise sc.error(f"einsum: output index {ch!r} appears twice")
        if not any(ch in letters for letters in inputs):
            raise sc.error(f"einsum: output index {ch!r} is in no operand")
        out.append(ch)
        sc.pos += 1
    if leading and "..." not in sc.text[lhs_end + 2 : end]:
        out = leading + out
    return inputs, out
