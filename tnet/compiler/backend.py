"""What a backend is: the vocabulary that writes each program operation in one array library.

A backend names the library's import line, says which arrays it takes, and turns every
operation of `program.Op` into one Python expression. The base class writes the numpy-like
spelling that numpy, JAX and Dask share (`M.transpose(x, perm)`, `x.reshape(shape)`,
`M.matmul(a, b)`, ...) with `M` the module's alias; each backend module overrides what its
library spells differently, and gives its functions (`functions`: name -> expression template
on `{x}`, with the helper definitions the template uses)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import CompileError
from ..functions import PowerFunction
from ..network import einsum_letters
from .steps import Op


class Backend:
    """The vocabulary of one array library."""

    name = ""
    #: the import lines the generated source starts with
    imports: tuple[str, ...] = ()
    #: the alias the generated source uses for the array module
    module = ""
    #: "kernels" (contraction steps as transpose / reshape / matmul) or "einsum"
    lowering = "kernels"
    #: what an argument must be, in words, for error messages
    array_kind = ""
    #: function name -> (template on {x}, names of the helpers it uses)
    functions: dict[str, tuple[str, tuple[str, ...]]] = {}
    #: helper name -> its definition (Python source)
    helpers: dict[str, str] = {}
    #: whether the library's arrays can be written to (then results never alias an input or
    #: each other: the program copies where they could)
    mutable = True
    #: the name the prologue defines (written only where a step uses it)
    prologue_defines: str | None = None
    #: whether the library's products refuse operands of different dtypes (then code for inputs
    #: of mixed dtypes casts them to one first: `cast_inputs`)
    casts_mixed_dtypes = False
    #: whether the library adds a term to a matrix product in the same call (`matmuladd` steps:
    #: `rewrites.matmul_add`)
    fused_matmul_add = False
    #: whether a whole-number scalar is written as an int (`1 - x`), so that it takes the dtype
    #: of the array it meets, integer arrays included, as the backend's constant arrays (made in
    #: the inputs' dtype) did; else as a float (`1.0 - x`: an integer array becomes float64, as
    #: numpy's float constant arrays make it)
    integral_scalars = False

    def accepts(self, value: Any, namespace: dict[str, Any]) -> bool:
        """Whether `value` is an array of this backend (`namespace`: the generated module's)."""
        raise NotImplementedError

    def concrete(self, value: Any, namespace: dict[str, Any]) -> np.ndarray | None:
        """The values of an argument as a numpy array, to check a structured variable's argument
        (symmetric, diagonal); None where the values are not at hand (a traced or lazy array)."""
        return None

    def prologue(self, inputs: Sequence[str]) -> list[str]:
        """Lines at the top of the function body (e.g. the dtype and device of new arrays)."""
        return []

    def cast_inputs(self, inputs: Sequence[str], needed: set[str]) -> list[str]:
        """Lines casting the inputs to their common dtype (`casts_mixed_dtypes`)."""
        raise NotImplementedError

    # -- literals ---------------------------------------------------------------------------
    def literal(self, array: np.ndarray) -> str:
        return f"{self.module}.asarray({array.tolist()!r})"

    def delta(self, n: int, order: int) -> str:
        if order == 2:
            return f"{self.module}.eye({n})"
        out = np.zeros((n,) * order)  # a higher-order copy tensor: written out as a literal
        out[(np.arange(n),) * order] = 1.0
        return self.literal(out)

    def ones(self, shape: tuple[int, ...]) -> str:
        return f"{self.module}.ones({shape!r})"

    def zeros(self, shape: tuple[int, ...]) -> str:
        return f"{self.module}.zeros({shape!r})"

    def full(self, value: Any, shape: tuple[int, ...]) -> str:
        return f"{self.module}.full({shape!r}, {value!r})"

    # -- array operations -------------------------------------------------------------------
    def transpose(self, x: str, perm: tuple[int, ...]) -> str:
        return f"{self.module}.transpose({x}, {perm!r})"

    def reshape(self, x: str, shape: tuple[int, ...]) -> str:
        return f"{x}.reshape({shape!r})"

    def sum(self, x: str, axes: tuple[int, ...]) -> str:
        return f"{x}.sum(axis={axes!r})"

    def einsum(self, spec: str, args: Sequence[str]) -> str:
        return f"{self.module}.einsum({spec!r}, {', '.join(args)})"

    def matmul(self, a: str, b: str) -> str:
        return f"{self.module}.matmul({a}, {b})"

    def broadcast(self, x: str, shape: tuple[int, ...]) -> str:
        return f"{self.module}.broadcast_to({x}, {shape!r})"

    def copy(self, x: str) -> str:
        """A new array with x's values (dense, writable)."""
        return f"{x}.copy()"

    # -- one operation ----------------------------------------------------------------------
    def expression(self, op: Op, args: Sequence[str], needed: set[str]) -> str:
        """The right-hand side computing `op` from the values named `args`; adds the helpers it
        uses to `needed`."""
        p = dict(op.params)
        kind = op.kind
        if p.get("dtype") is not None or p.get("promote") or p.get("checked") or kind in ("sum_dtype", "astype"):
            return self.typed_expression(op, args, needed)
        if kind == "literal":
            return self.literal(p["array"])
        if kind == "delta":
            return self.delta(p["n"], p["order"])
        if kind == "ones":
            return self.ones(p["shape"])
        if kind == "zeros":
            return self.zeros(p["shape"])
        if kind == "full":
            return self.full(p["value"], p["shape"])
        if kind == "scalar":
            return number_source(p["value"], self.integral_scalars)
        if kind == "apply":
            return self.apply(p["fn"], args[0], needed)
        if kind == "call":
            return self.call(p["fn"], args, needed)
        if kind == "combine":
            return _linear_combination(p["coefs"], args)
        if kind == "scale":
            return f"{number_source(p['c'])} * {args[0]}"
        if kind == "transpose":
            return self.transpose(args[0], p["perm"])
        if kind == "reshape":
            return self.reshape(args[0], p["shape"])
        if kind == "sum":
            return self.sum(args[0], p["axes"])
        if kind == "diagonal":
            return self.einsum(_sublist_spec(p["ins"], p["outs"]), args)
        if kind == "einsum":
            return self.einsum(p["spec"], args)
        if kind == "matmul":
            return self.matmul(*args)
        if kind == "mul":
            return f"{args[0]} * {args[1]}"
        if kind == "rowdot":
            return self.einsum("ij,ij->i", args)
        if kind == "broadcast":
            return self.broadcast(args[0], p["shape"])
        if kind == "copy":
            return self.copy(args[0])
        raise CompileError(f"the {self.name} backend cannot write the operation {kind!r}")  # pragma: no cover

    def typed_expression(self, op: Op, args: Sequence[str], needed: set[str]) -> str:
        """An operation of a program that follows the interpreter's dtype policy (`program.Op`):
        only the numpy backend, which `tnet.evaluate` runs, writes them."""
        raise CompileError(f"the {self.name} backend does not follow tnet.evaluate's dtype policy")  # pragma: no cover

    def apply(self, fn: Any, x: str, needed: set[str]) -> str:
        if isinstance(fn, PowerFunction):
            p = fn.exponent
            if p.is_integer():
                if p == -1:
                    return f"1.0 / {x}"
                return f"{x} ** {int(p)}" if p >= 0 else f"1.0 / {x} ** {int(-p)}"
            return f"{x} ** {p!r}"
        entry = self.functions.get(fn.name)
        if entry is None:
            return self.custom_function(fn, x, needed)
        template, helpers = entry
        needed.update(helpers)
        return template.format(x=x, M=self.module)

    #: functions of several tensors the backend spells itself: name -> template over {a0}, {a1}, ...
    calls: dict[str, str] = {
        "maximum": "{M}.maximum({a0}, {a1})",
        "minimum": "{M}.minimum({a0}, {a1})",
        "where": "{M}.where({a0} != 0, {a1}, {a2})",
        "pow": "{a0} ** {a1}",
    }

    def call(self, fn: Any, args: Sequence[str], needed: set[str]) -> str:
        template = self.calls.get(fn.name)
        if template is None:
            return self.custom_function(fn, ", ".join(args), needed)
        return template.format(M=self.module, **{f"a{k}": a for k, a in enumerate(args)})

    def custom_function(self, fn: Any, x: str, needed: set[str]) -> str:
        """A function the backend has no spelling for (a user's Function)."""
        known = ", ".join(sorted(self.functions))
        raise CompileError(
            f"the {self.name} backend has no implementation of the function {fn.name!r}; it knows: {known}"
        )


def number_source(c: Any, whole_as_int: bool = True) -> str:
    """Python source for a number (a coefficient, or a constant's one value, which broadcasts
    and takes the dtype of the array it meets, as the libraries treat Python numbers): an int
    as it is; a whole float as an int where `whole_as_int` (below 1e15), else as a float; inf
    and nan as float('inf') and the like, complex numbers alike."""
    if isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_)):
        return repr(int(c))
    if isinstance(c, complex):
        c = complex(c)
        return repr(c) if np.isfinite(c) else f"complex({str(c)!r})"
    f = float(c)
    if not np.isfinite(f):
        return f"float({str(f)!r})"
    return repr(int(f)) if whole_as_int and f.is_integer() and abs(f) < 1e15 else repr(f)


#: a linear combination of more terms is written as a balanced tree of parenthesised halves, so
#: that the expression nests about log2(terms) deep (Python's compiler recurses on nesting)
_FLAT_TERMS = 16


def _linear_combination(coefs: Sequence[Any], args: Sequence[str]) -> str:
    if len(args) > _FLAT_TERMS:
        half = len(args) // 2
        left = _linear_combination(coefs[:half], args[:half])
        return f"({left}) + ({_linear_combination(coefs[half:], args[half:])})"
    parts = []
    for k, (c, a) in enumerate(zip(coefs, args)):
        if c == 1:
            parts.append(a if k == 0 else f"+ {a}")
        elif c == -1:
            parts.append(f"-{a}" if k == 0 else f"- {a}")
        else:
            parts.append((f"{number_source(c)} * {a}") if k == 0 else f"+ {number_source(c)} * {a}")
    return " ".join(parts)


def _sublist_spec(ins: Sequence[int], outs: Sequence[int]) -> str:
    letters = einsum_letters(max([*ins, *outs], default=0) + 1)
    return "".join(letters[i] for i in ins) + "->" + "".join(letters[i] for i in outs)
