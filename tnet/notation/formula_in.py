"""The formula language in: `parse_formula(text, declarations)` reads a formula as people type it
(``x'*A*x``, ``norm2(A*x - b)^2``, ``tr(X*A*X')``, ``a .* b``) into a tnet expression, creating
its variables, whose shapes come from declarations or are inferred from how the names are used.

It is a different surface from matrix notation (matrix_in.py): here ``*`` is the matrix product
(a scalar times anything is scaling), ``.*`` the Hadamard product, ``./`` element-wise division,
``/`` division by a scalar, ``'`` the transpose, ``^`` a power (of a scalar; of a square matrix:
``X^-1`` is the inverse, ``X^2`` is ``X*X``) and ``.^`` the element-wise power. The grammar,
loosest first:

    sum     := ('+' | '-') term (('+' | '-') term)*
    term    := unary (('*' | '.*' | '/' | './') unary)*
    unary   := '-' unary | power
    power   := postfix (('^' | '.^') ('-')? number)*
    postfix := atom "'"*
    atom    := number | name | f '(' sum (',' sum)* ')' | '(' sum ')'

Functions: ``tr``, ``sum``, ``diag``, ``norm2`` (the Euclidean norm), ``norm1``, and every function
registered with `tnet.Function` by name (``exp``, ``log``, ``softmax``, ``det``, ``inv``, ...):
one with scalar sub-tensors applies element-wise, one on vectors applies to a vector (or to each
row of a matrix), one on matrices to a matrix; an element-wise function of several arguments
(``maximum(x, 0)``) takes arguments of one shape or scalars, which are broadcast.

Declarations, one per line or separated by ``;``: ``A: matrix m×n`` (or ``m x n``),
``x: vector n``, ``S: symmetric n×n`` (``S'`` reads as S; the gradient is the unconstrained
one), ``c: scalar``; several names may share one (``A, B: matrix n×n``). A name that is not
declared is a matrix when it starts with an upper-case letter and a vector otherwise. Vectors are
columns, ``x'`` is a row. Sizes are unified by name: every product, sum and function equates the
sizes it needs equal, and a size no declaration names gets a fresh name (n, m, p, ...). Two sizes
that cannot be equal raise a `ParseError` at the operator, naming both shapes."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError, TnetError
from ..expr import Expr, Variable
from ..functions import Function, apply, call, registered
from ..network import combine, scale
from ..ops import add, broadcast_to, diag, divide, kron, matmul, multiply, power, subtract, trace, transpose
from ..ops import sum as tsum
from .scan import NUMBER, Scanner, number_value

__all__ = ["Declaration", "Formula", "parse_declarations", "parse_formula"]

MAX_LENGTH = 10_000  # characters of a formula or of its declarations
#: functions of the language that are not registered tnet Functions
BUILTINS = ("tr", "sum", "diag", "norm2", "norm1")
_KINDS = {"scalar": 0, "vector": 1, "matrix": 2, "symmetric": 2}
_FRESH = ("n", "m", "p", "q", "r", "s", "k", "l")
_TOO_DEEP = "the formula is nested too deeply, or has too many operators in one chain, to be read"


# ---------------------------------------------------------------------------------------------
# the syntax tree
# ---------------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Node:
    """One piece of the formula: op is 'num', 'name', 'call', 'neg', "'", or a binary operator
    ('+', '-', '*', '.*', '/', './', '^', '.^'); pos is where it is in the text."""

    op: str
    pos: int
    args: list[_Node] = field(default_factory=list)
    value: Any = None  # the number, the name, the function name, or the exponent
    type: tuple = ()  # filled by the inference: ('s',), ('c', n), ('r', n) or ('m', m, n)


class _Reader(Scanner):
    """A recursive-descent reader of the formula language, one method per rule."""

    def read(self) -> _Node:
        node = self.sum()
        self.skip_ws()
        if self.pos != self.n:
            raise self.error(f"unexpected {self.found()}")
        return node

    def sum(self) -> _Node:
        self.skip_ws()
        start = self.pos
        if self.eat("+"):
            node = self.term()
        elif self.eat("-"):
            node = _Node("neg", start, [self.term()])
        else:
            node = self.term()
        while True:
            self.skip_ws()
            op = self.peek()
            if op not in ("+", "-") or not op:
                return node
            at = self.pos
            self.pos += 1
            node = _Node(op, at, [node, self.term()])

    def term(self) -> _Node:
        node = self.unary()
        while True:
            self.skip_ws()
            at = self.pos
            for op in (".*", "./", "*", "/"):
                if self.eat(op):
                    node = _Node(op, at, [node, self.unary()])
                    break
            else:
                return node

    def unary(self) -> _Node:
        self.skip_ws()
        at = self.pos
        if self.eat("-"):
            self.enter(at)
            node = _Node("neg", at, [self.unary()])
            self.leave()
            return node
        return self.power()

    def power(self) -> _Node:
        node = self.postfix()
        while True:
            self.skip_ws()
            at = self.pos
            op = ".^" if self.eat(".^") else "^" if self.eat("^") else None
            if op is None:
                return node
            self.skip_ws()
            sign = -1.0 if self.eat("-") else 1.0
            m = self.number(NUMBER)
            if not m or m.group().endswith("j"):
                raise self.error(f"expected a real number after {op!r}, found {self.found()}")
            self.pos = m.end()
            node = _Node(op, at, [node], sign * float(m.group()))
            node = self.transposes(node)

    def postfix(self) -> _Node:
        return self.transposes(self.atom())

    def transposes(self, node: _Node) -> _Node:
        while True:
            at = self.pos
            if not self.eat("'"):
                return node
            node = _Node("'", at, [node])

    def atom(self) -> _Node:
        self.skip_ws()
        start = self.pos
        ch = self.peek()
        if ch == "(":
            self.enter(start)
            self.pos += 1
            node = self.sum()
            self.skip_ws()
            if not self.eat(")"):
                raise self.error(f"expected ')' to close the '(' at position {start}, found {self.found()}")
            self.leave()
            return node
        m = self.number(NUMBER)
        if m:
            self.pos = m.end()
            return _Node("num", start, value=number_value(m.group()))
        name = self.name_run()
        if not name:
            raise self.error(f"expected a name, a number or '(', found {self.found()}")
        self.skip_ws()
        if self.peek() != "(":
            return _Node("name", start, value=name)
        if name not in BUILTINS and name not in registered():
            known = ", ".join(sorted({*BUILTINS, *registered()}))
            raise self.error(f"unknown function {name!r} (the functions are: {known})", start)
        self.enter(self.pos)
        self.pos += 1
        args = [self.sum()]
        self.skip_ws()
        while self.eat(","):
            args.append(self.sum())
            self.skip_ws()
        if not self.eat(")"):
            raise self.error(f"expected ',' or ')' after an argument of {name}, found {self.found()}")
        self.leave()
        return _Node("call", start, args, name)


# ---------------------------------------------------------------------------------------------
# declarations
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Declaration:
    """A declared name: its kind (scalar, vector, matrix, symmetric) and its sizes (ints or size
    names), e.g. Declaration('matrix', ('m', 'n'))."""

    kind: str
    sizes: tuple[Any, ...]


_SIZE = r"(?:[A-Za-z][A-Za-z0-9_]*|[0-9]+)"
_DECLARATION = re.compile(
    r"\s*(?P<names>[A-Za-z][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z][A-Za-z0-9_]*)*)\s*:\s*(?P<kind>[a-z]+)"
    rf"(?P<sizes>(?:\s*(?:\s|×|\bx\b|\*|,)?\s*{_SIZE})*)\s*$"
)


def parse_declarations(text: str) -> dict[str, Declaration]:
    """Read declarations such as ``A: matrix m×n; x: vector n; c: scalar`` (one per line or
    separated by ';'). Raises ParseError at the declaration that cannot be read."""
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the declarations are {len(text)} characters long; the limit is {MAX_LENGTH}")
    out: dict[str, Declaration] = {}
    offset = 0
    for part in re.split(r"(;|\n)", text):
        at = offset
        offset += len(part)
        if part in (";", "\n") or not part.strip():
            continue
        m = _DECLARATION.match(part)
        if not m:
            raise ParseError(
                "expected a declaration such as 'A: matrix m×n', 'x: vector n', 'S: symmetric n×n' or 'c: scalar'",
                text,
                at + len(part) - len(part.lstrip()),
            )
        kind = m.group("kind")
        if kind not in _KINDS:
            raise ParseError(f"unknown kind {kind!r}; the kinds are: {', '.join(_KINDS)}", text, at + m.start("kind"))
        sizes = tuple(int(s) if s.isdigit() else s for s in re.findall(_SIZE, m.group("sizes").replace("×", " ")))
        sizes = tuple(s for s in sizes if s != "x")
        if len(sizes) != _KINDS[kind] and not (kind == "symmetric" and len(sizes) == 1):
            raise ParseError(
                f"a {kind} has {_KINDS[kind]} size{'s' if _KINDS[kind] != 1 else ''}, got {len(sizes)}",
                text,
                at + m.start("kind"),
            )
        if kind == "symmetric":
            if len(set(sizes)) != 1:
                raise ParseError(f"a symmetric matrix is square, got {sizes[0]}×{sizes[1]}", text, at + m.start("kind"))
            sizes = (sizes[0], sizes[0])
        if any(isinstance(s, int) and s < 1 for s in sizes):
            raise ParseError("sizes are positive integers or size names", text, at + m.start("sizes"))
        for name in re.split(r"\s*,\s*", m.group("names").strip()):
            if name in out:
                raise ParseError(f"{name} is declared twice", text, at)
            out[name] = Declaration(kind, sizes)
    return out


# ---------------------------------------------------------------------------------------------
# shape inference: sizes are classes of a union-find, unified by every operation
# ---------------------------------------------------------------------------------------------
_KIND_WORDS = {"s": "a scalar", "c": "a column vector", "r": "a row vector", "m": "a matrix"}


class _Sizes:
    """Size variables, unified by name: each class holds at most one fixed value (an int or a
    declared size name)."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.fixed: dict[int, Any] = {}

    def new(self, value: Any = None) -> int:
        self.parent.append(len(self.parent))
        if value is not None:
            self.fixed[len(self.parent) - 1] = value
        return len(self.parent) - 1

    def find(self, v: int) -> int:
        while self.parent[v] != v:
            self.parent[v] = self.parent[self.parent[v]]
            v = self.parent[v]
        return v

    def unify(self, a: int, b: int) -> bool:
        """Make a and b one size; False if both are fixed to different values."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        fa, fb = self.fixed.get(ra), self.fixed.get(rb)
        if fa is not None and fb is not None and fa != fb:
            return False
        self.parent[rb] = ra
        if fa is None and fb is not None:
            self.fixed[ra] = fb
        return True


class _Inference:
    """Gives every node its type, ('s',), ('c', n), ('r', n) or ('m', m, n), with n, m size
    variables, and every name its declaration."""

    def __init__(self, text: str, declared: Mapping[str, Declaration]) -> None:
        self.text = text
        self.sizes = _Sizes()
        self.by_name: dict[Any, int] = {}  # a declared size name or int -> its size variable
        self.declared = dict(declared)
        self.names: dict[str, tuple] = {}  # a variable -> its type
        self.kinds: dict[str, str] = {}

    def size(self, value: Any) -> int:
        if value not in self.by_name:
            self.by_name[value] = self.sizes.new(value)
        return self.by_name[value]

    def shown(self, t: tuple) -> str:
        dims = "×".join(str(self.name_of(v)) for v in t[1:])
        return _KIND_WORDS[t[0]] + (f" ({dims})" if dims else "")

    def name_of(self, v: int) -> Any:
        """The size's name, for messages: its fixed value, or the name resolve() would give it."""
        root = self.sizes.find(v)
        if root in self.sizes.fixed:
            return self.sizes.fixed[root]
        fresh = self.fresh_names()
        for u in range(len(self.sizes.parent)):
            r = self.sizes.find(u)
            if r not in self.sizes.fixed:
                name = next(fresh)
                if r == root:
                    return name
        return "?"

    def fresh_names(self) -> Iterator[str]:
        taken = {v for v in self.sizes.fixed.values() if isinstance(v, str)} | set(self.names)
        return (name for name in (*_FRESH, *(f"n{k}" for k in range(1, 10**6))) if name not in taken)

    def equal(self, node: _Node, a: int, b: int, x: tuple, y: tuple, what: str) -> None:
        if not self.sizes.unify(a, b):
            raise ParseError(
                f"{what}: {self.shown(x)} and {self.shown(y)} do not fit ({self.name_of(a)} ≠ {self.name_of(b)})",
                self.text,
                node.pos,
            )

    def same(self, node: _Node, x: tuple, y: tuple, what: str) -> tuple:
        """The type of an element-wise operation: equal types, or a scalar with anything."""
        if x[0] == "s":
            return y
        if y[0] == "s":
            return x
        if x[0] != y[0]:
            raise ParseError(f"{what}: {self.shown(x)} and {self.shown(y)} do not fit", self.text, node.pos)
        for a, b in zip(x[1:], y[1:]):
            self.equal(node, a, b, x, y, what)
        return x

    def infer(self, node: _Node) -> tuple:
        node.type = getattr(self, "rule_" + _RULES.get(node.op, node.op))(node)
        return node.type

    def rule_num(self, node: _Node) -> tuple:
        return ("s",)

    def rule_name(self, node: _Node) -> tuple:
        name = node.value
        if name not in self.names:
            d = self.declared.get(name)
            if d is None:
                d = Declaration("matrix", (None, None)) if name[0].isupper() else Declaration("vector", (None,))
                self.declared[name] = d
            sizes = [self.sizes.new() if s is None else self.size(s) for s in d.sizes]
            if d.kind == "symmetric":
                sizes[1] = sizes[0]
            self.kinds[name] = d.kind
            self.names[name] = {0: ("s",), 1: ("c", *sizes), 2: ("m", *sizes)}[len(sizes)]
        return self.names[name]

    def rule_neg(self, node: _Node) -> tuple:
        return self.infer(node.args[0])

    def rule_transpose(self, node: _Node) -> tuple:
        t = self.infer(node.args[0])
        return {"s": t, "c": ("r", *t[1:]), "r": ("c", *t[1:]), "m": ("m", *t[2:0:-1])}[t[0]]

    def rule_elementwise(self, node: _Node) -> tuple:
        x, y = (self.infer(a) for a in node.args)
        what = {"+": "a sum", "-": "a difference", ".*": "a Hadamard product", "./": "an element-wise division"}
        return self.same(node, x, y, what[node.op])

    def rule_divide(self, node: _Node) -> tuple:
        x, y = (self.infer(a) for a in node.args)
        if y[0] != "s":
            raise ParseError(
                f"'/' divides by a scalar, not by {self.shown(y)}; use './' to divide element-wise",
                self.text,
                node.pos,
            )
        return x

    def rule_product(self, node: _Node) -> tuple:
        x, y = (self.infer(a) for a in node.args)
        if x[0] == "s":
            return y
        if y[0] == "s":
            return x
        what = "a matrix product"
        if x[0] in "rm" and y[0] in "cm":  # the inner sizes meet
            self.equal(node, x[-1], y[1], x, y, what)
            rows = x[1:2] if x[0] == "m" else ()
            cols = y[2:3] if y[0] == "m" else ()
            if rows and cols:
                return ("m", rows[0], cols[0])
            if rows:
                return ("c", rows[0])
            if cols:
                return ("r", cols[0])
            return ("s",)
        if x[0] == "c" and y[0] == "r":
            return ("m", x[1], y[1])
        raise ParseError(f"{what}: cannot multiply {self.shown(x)} by {self.shown(y)}", self.text, node.pos)

    def rule_power(self, node: _Node) -> tuple:
        t = self.infer(node.args[0])
        p = node.value
        if node.op == ".^" or t[0] == "s":
            return t
        if t[0] != "m":
            raise ParseError(
                f"'^' raises a scalar or a square matrix to a power, not {self.shown(t)}; use '.^' element-wise",
                self.text,
                node.pos,
            )
        if not (p == -1 or (p == int(p) and p >= 1)):
            raise ParseError(f"a matrix power must be -1 or a positive integer, got {p:g}", self.text, node.pos)
        self.equal(node, t[1], t[2], t, t, "a matrix power needs a square matrix")
        return t

    def square(self, node: _Node, t: tuple, what: str) -> None:
        if t[0] != "m":
            raise ParseError(f"{what} needs a square matrix, got {self.shown(t)}", self.text, node.pos)
        self.equal(node, t[1], t[2], t, t, f"{what} needs a square matrix")

    def rule_call(self, node: _Node) -> tuple:
        name = node.value
        fn = registered().get(name)
        arity = fn.arity if fn is not None else 1
        if len(node.args) != arity:
            s = "" if arity == 1 else "s"
            raise ParseError(f"{name} takes {arity} argument{s}, got {len(node.args)}", self.text, node.pos)
        if fn is not None and arity > 1:
            if any(fn.core_ndims):
                raise ParseError(
                    f"{name} acts on sub-tensors of its {arity} arguments; the formula language has only "
                    "element-wise functions of several arguments",
                    self.text,
                    node.pos,
                )
            types = [self.infer(a) for a in node.args]
            out = types[0]
            for t in types[1:]:
                out = self.same(node, out, t, f"the arguments of {name}")
            return out
        t = self.infer(node.args[0])
        if name in ("sum", "norm2", "norm1"):
            return ("s",)
        if name == "tr":
            self.square(node, t, "tr")
            return ("s",)
        if name == "diag":
            if t[0] in "cr":
                return ("m", t[1], t[1])
            self.square(node, t, "diag of a matrix")
            return ("c", t[1])
        assert fn is not None  # a name the reader accepted: a builtin or a registered function
        try:
            return self.applied(node, fn, t)
        except (TnetError, TypeError, ValueError) as err:  # a function whose shapes are not those below
            if isinstance(err, ParseError):
                raise
            raise ParseError(f"{name} cannot be applied to {self.shown(t)}: {err}", self.text, node.pos) from None

    def applied(self, node: _Node, fn: Function, t: tuple) -> tuple:
        """The type of fn(x), x of type t, for a function of one argument."""
        name = fn.name
        if fn.core_ndim == 0:
            return t
        if fn.core_ndim == 1:
            if t[0] == "s":
                raise ParseError(f"{name} acts on vectors, got a scalar", self.text, node.pos)
            out = fn.output_shape(("n",))
            if out == ():
                return ("s",) if t[0] in "cr" else ("c", t[1])
            if out == ("n",):
                return t
        if fn.core_ndim == 2:
            if t[0] != "m":
                raise ParseError(f"{name} acts on matrices, got {self.shown(t)}", self.text, node.pos)
            try:  # a function of square matrices rejects distinct sizes
                out, where = fn.output_shape((2, 3)), {2: t[1], 3: t[2]}
            except TnetError:
                self.square(node, t, name)
                out, where = fn.output_shape((2, 2)), {2: t[1]}
            if all(s in where for s in out) and len(out) <= 2:
                return {0: ("s",), 1: ("c", *(where[s] for s in out)), 2: ("m", *(where[s] for s in out))}[len(out)]
        raise ParseError(
            f"{name} acts on sub-tensors with {fn.core_ndim} axes; the formula language applies functions "
            "to scalars (element-wise), vectors (or the rows of a matrix) and matrices",
            self.text,
            node.pos,
        )

    def resolve(self) -> dict[int, Any]:
        """Every size class's final value: its fixed value, or a fresh size name."""
        fresh = self.fresh_names()
        out: dict[int, Any] = {}
        for v in range(len(self.sizes.parent)):
            root = self.sizes.find(v)
            if root not in self.sizes.fixed:
                self.sizes.fixed[root] = next(fresh)
            out[v] = self.sizes.fixed[root]
        return out


_RULES = {
    "'": "transpose",
    "+": "elementwise",
    "-": "elementwise",
    ".*": "elementwise",
    "./": "elementwise",
    "*": "product",
    "/": "divide",
    "^": "power",
    ".^": "power",
}


# ---------------------------------------------------------------------------------------------
# building the tnet expression
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Formula:
    """A formula read: its tnet expression, the variables it created (by name, in order of first
    use), and each variable's kind ('scalar', 'vector', 'matrix' or 'symmetric')."""

    text: str
    expr: Expr
    variables: dict[str, Variable]
    kinds: dict[str, str]

    def declarations(self) -> str:
        """The declarations of every variable, as inferred: 'A: matrix m×n; x: vector n'."""
        parts = []
        for name, v in self.variables.items():
            sizes = "×".join(str(s) for s in v.shape)
            parts.append(f"{name}: {self.kinds[name]}" + (f" {sizes}" if sizes else ""))
        return "; ".join(parts)


class _Builder:
    """Builds the tnet expression of a typed syntax tree; numbers stay Python numbers until they
    meet a tensor."""

    def __init__(self, text: str, variables: dict[str, Variable], kinds: dict[str, str], sizes: dict[int, Any]) -> None:
        self.text = text
        self.variables = variables
        self.kinds = kinds
        self.sizes = sizes  # size variable -> its final size

    def build(self, node: _Node) -> Any:
        try:
            return getattr(self, "build_" + _RULES.get(node.op, node.op))(node)
        except TnetError as err:
            if isinstance(err, ParseError):
                raise
            raise ParseError(str(err), self.text, node.pos) from None

    def expr(self, v: Any) -> Expr:
        return v if isinstance(v, Expr) else combine([], [], [], v)

    def build_num(self, node: _Node) -> Any:
        return node.value

    def build_name(self, node: _Node) -> Any:
        return self.variables[node.value]

    def build_neg(self, node: _Node) -> Any:
        v = self.build(node.args[0])
        return -v if not isinstance(v, Expr) else scale(v, -1.0)

    def build_transpose(self, node: _Node) -> Any:
        v = self.build(node.args[0])
        arg = node.args[0]
        if arg.op == "name" and self.kinds.get(arg.value) == "symmetric":
            return v
        return transpose(v) if isinstance(v, Expr) and v.ndim == 2 else v  # a row vector is kept as its vector

    def build_elementwise(self, node: _Node) -> Any:
        a, b = (self.build(x) for x in node.args)
        numbers = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, ".*": lambda x, y: x * y, "./": lambda x, y: x / y}
        tensors = {"+": add, "-": subtract, ".*": multiply, "./": divide}
        if not isinstance(a, Expr) and not isinstance(b, Expr):
            try:
                return numbers[node.op](a, b)
            except ZeroDivisionError:
                raise ParseError("division by zero", self.text, node.pos) from None
        return tensors[node.op](self.expr(a), self.expr(b))

    def build_divide(self, node: _Node) -> Any:
        a, b = (self.build(x) for x in node.args)
        if not isinstance(b, Expr):
            if b == 0:
                raise ParseError("division by zero", self.text, node.pos)
            return a / b if not isinstance(a, Expr) else scale(a, 1 / b)
        return divide(self.expr(a), b)

    def build_product(self, node: _Node) -> Any:
        x, y = (arg.type for arg in node.args)
        a, b = (self.build(arg) for arg in node.args)
        if not isinstance(a, Expr) or not isinstance(b, Expr):
            if not isinstance(a, Expr) and not isinstance(b, Expr):
                return a * b
            return scale(b, a) if not isinstance(a, Expr) else scale(a, b)
        if x[0] == "s" or y[0] == "s":
            return multiply(a, b)
        if x[0] == "c" and y[0] == "r":
            return kron(a, b)
        return matmul(a, b)

    def build_power(self, node: _Node) -> Any:
        p = node.value
        arg = node.args[0]
        if arg.op == "call" and arg.value == "norm2" and node.op == "^":  # a sum of squares is >= 0
            v = self.expr(self.build(arg.args[0]))
            return power(tsum(multiply(v, v)), p / 2)
        v = self.build(arg)
        if not isinstance(v, Expr):
            try:
                return v**p
            except ZeroDivisionError:
                raise ParseError("0 to a negative power", self.text, node.pos) from None
        if node.op == ".^" or v.ndim == 0 or node.type[0] != "m":
            return power(v, p)
        if p == -1:
            return apply("inv", v)
        out = v
        for _ in range(int(p) - 1):
            out = matmul(out, v)
        return out

    def shapes(self, t: tuple) -> list[Any]:
        """The sizes of a type, as the variables have them."""
        return [self.sizes[v] for v in t[1:]]

    def build_call(self, node: _Node) -> Any:
        name = node.value
        v = self.expr(self.build(node.args[0]))
        if name == "sum":
            return tsum(v)
        if name == "tr":
            return trace(v)
        if name == "diag":
            return diag(v)
        if name == "norm2":
            return power(tsum(multiply(v, v)), 0.5)
        if name == "norm1":
            return tsum(apply("abs", v))
        fn: Function = registered()[name]
        if fn.arity > 1:  # element-wise: every argument broadcast to the result's shape
            shape = tuple(self.shapes(node.type))
            args = [broadcast_to(self.expr(self.build(a)), shape) for a in node.args]
            return call(fn, *args)
        if fn.core_ndim == 0 or v.ndim == fn.core_ndim:
            return apply(fn, v)
        return apply(fn, v, [0])  # a function of vectors, on each row of a matrix


def parse_formula(text: str, declarations: str | Mapping[str, Declaration] = "", /) -> Formula:
    """Read a formula of the formula language (see the module) into a `Formula`: its tnet
    expression and the variables it created::

        f = parse_formula("norm2(A*x - b)^2", "A: matrix m×n")
        f.expr                  # a scalar tnet expression
        f.variables["x"]        # Variable('x', 'n')
        f.declarations()        # 'A: matrix m×n; x: vector n; b: vector m'

    Raises `tnet.ParseError` with the position in the text and what is wrong (for shapes that
    do not fit: both shapes)."""
    if not isinstance(text, str):
        raise TypeError(f"parse_formula: the formula must be a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    declared = parse_declarations(declarations) if isinstance(declarations, str) else dict(declarations)
    reader = _Reader(text)
    tree = reader.guarded(reader.read)
    inference = _Inference(text, declared)
    try:
        inference.infer(tree)
    except RecursionError:
        raise ParseError(_TOO_DEEP, text, None) from None
    final = inference.resolve()
    variables: dict[str, Variable] = {}
    for name, t in inference.names.items():
        variables[name] = Variable(name, *(final[v] for v in t[1:]))
    builder = _Builder(text, variables, inference.kinds, final)
    try:
        expr = builder.expr(builder.build(tree))
    except RecursionError:
        raise ParseError(_TOO_DEEP, text, None) from None
    return Formula(text, expr, variables, dict(inference.kinds))
