"""Reading numpy einsum strings ("ij,jk->ik", implicit output, "..." for leading axes)."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ParseError


def parse_einsum(spec: str, ndims: Sequence[int]) -> tuple[list[list[str]], list[str]]:
    """The index list of each operand and the output list, numpy's rules: without "->" the
    output is every index used exactly once, in alphabetical order; "..." stands for the
    leading axes an operand has beyond its letters (broadcast axes must agree in count here)."""
    if not isinstance(spec, str):
        raise TypeError(f"einsum: the spec must be a str, got {type(spec).__name__}")
    text = spec.replace(" ", "")
    if text.count("->") > 1:
        raise ParseError("einsum: '->' appears more than once", spec, spec.index("->", spec.index("->") + 1))
    lhs, arrow, rhs = text.partition("->")
    parts = lhs.split(",")
    if len(parts) != len(ndims):
        raise ParseError(f"einsum: the spec names {len(parts)} operands but {len(ndims)} were given", spec, 0)
    inputs: list[list[str]] = []
    ellipsis_len = None
    pos = 0
    for k, (part, nd) in enumerate(zip(parts, ndims)):
        letters = []
        j = 0
        while j < len(part):
            if part.startswith("...", j):
                explicit = len(part.replace("...", ""))
                n = nd - explicit
                if n < 0:
                    raise ParseError(f"einsum: operand {k} has {nd} axes, fewer than its indices", spec, pos + j)
                if ellipsis_len is not None and n != ellipsis_len and n != 0:
                    raise ParseError("einsum: '...' stands for different numbers of axes", spec, pos + j)
                ellipsis_len = max(ellipsis_len or 0, n)
                letters.extend(f"...{m + (ellipsis_len - n)}" for m in range(n))
                j += 3
                continue
            ch = part[j]
            if not ch.isalpha():
                raise ParseError(f"einsum: unexpected character {ch!r}; indices are letters", spec, pos + j)
            letters.append(ch)
            j += 1
        if len(letters) != nd:
            raise ParseError(
                f"einsum: operand {k} has {nd} axes but its indices {part!r} name {len(letters)}", spec, pos
            )
        inputs.append(letters)
        pos += len(part) + 1
    ell = [f"...{m}" for m in range(ellipsis_len or 0)]
    if arrow:
        out: list[str] = []
        j = 0
        while j < len(rhs):
            if rhs.startswith("...", j):
                out.extend(ell)
                j += 3
                continue
            ch = rhs[j]
            if not ch.isalpha():
                raise ParseError(f"einsum: unexpected character {ch!r} in the output", spec, len(lhs) + 2 + j)
            if ch in out:
                raise ParseError(f"einsum: output index {ch!r} appears twice", spec, len(lhs) + 2 + j)
            if not any(ch in letters for letters in inputs):
                raise ParseError(f"einsum: output index {ch!r} is in no operand", spec, len(lhs) + 2 + j)
            out.append(ch)
            j += 1
        if ell and not set(ell) <= set(out):
            out = ell + out if "..." not in rhs else out
    else:
        counts: dict[str, int] = {}
        for letters in inputs:
            for ch in letters:
                counts[ch] = counts.get(ch, 0) + 1
        out = ell + sorted(ch for ch, n in counts.items() if n == 1 and not ch.startswith("..."))
    return inputs, out
