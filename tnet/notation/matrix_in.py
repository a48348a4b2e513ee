"""Matrix notation in: `parse_matrix(text, **tensors)` builds a tnet expression from a formula in
matrix notation, such as what `to_matrix` prints (``2 a a^T X``, ``-(X^-T A^T B^T X^-T)``,
``diag(s) - s s^T``, ``B ⊙ (G W^T)``) or ``a^T X b``; `eval_matrix` evaluates one.

The grammar, loosest first (juxtaposition binds tighter than ⊙ and ⊘, which bind tighter
than + and -):

    sum      := ('+' | '-')* hadamard (('+' | '-') hadamard)*
    hadamard := product (('⊙' | '*' | '⊘') product)*
    product  := postfix postfix ...           juxtaposition, the matrix product
    postfix  := atom ('^T' | "'" | '^-1' | '^-T' | '^⊙' number)*
    atom     := number | (1+2j) | '(' sum ')' | name | '`' name '`' | 1 | 1{n} | I | I{n} | I{n,k}
              | f '(' sum ')' | f '^' positions '(' sum ')' | pow{p}(...)
              | tr(...) | diag(...) | einsum("spec", sum, ...)

Vectors are column vectors; ``v^T`` (or ``v'``) is a row vector, kept apart while reading so that
``a b^T`` is an outer product and ``a^T b`` a scalar. A bare ``1`` or ``I`` takes its size from
its neighbour in a product (``A 1``, ``1^T v``); elsewhere it is written with its size, ``1{n}``.
``1`` is never the number one (that is ``1.0``). ``f`` is any registered function (`tnet.Function`),
applied as `tnet.apply` does; ``f^P`` gives the positions P (1-based), as in ``softmax^1(A)``."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import TnetError
from ..evaluate import evaluate
from ..expr import Delta, Expr, Ones
from ..functions import Function, apply, call, family_member, is_family, power_function, registered
from ..network import combine, scale
from ..ops import add, diag, divide, kron, matmul, multiply, power, trace, transpose
from .einsum_in import read_spec
from .names import bind
from .scan import COMPLEX, NUMBER, SIGNED_NUMBER, Scanner, number_value, read_definitions

__all__ = ["eval_matrix", "parse_matrix"]

_ATOM_START = "0123456789.(`"
_HADAMARD = {"⊙": "⊙", "*": "⊙", "⊘": "⊘"}
_NUMBER_OPS = {"+": operator.add, "⊙": operator.mul, "⊘": operator.truediv}
_TENSOR_OPS = {"+": add, "⊙": multiply, "⊘": divide}


class _Row:
    """A row vector: the transpose of a (column) vector."""

    __slots__ = ("vector",)

    def __init__(self, vector: Expr) -> None:
        self.vector = vector


class _Pending:
    """A bare 1 or I whose size comes from its neighbour in a product."""

    __slots__ = ("kind", "row")

    def __init__(self, kind: str, row: bool = False) -> None:
        self.kind, self.row = kind, row  # kind: "ones" or "identity"


#: what a piece of a formula stands for while it is read
Value = Any  # Expr | _Row | _Pending | float | complex


def _is_number(v: Value) -> bool:
    return isinstance(v, (int, float, complex))


class _MatrixReader(Scanner):
    """A recursive-descent reader of matrix notation, one method per rule of the grammar."""

    def read(self) -> Expr:
        value = self.sum()
        self.skip_ws()
        if self.pos != self.n:
            raise self.error(f"unexpected {self.found()}")
        if isinstance(value, _Row):
            return value.vector
        return self.expr(value, 0, "the formula")

    # -- values ----------------------------------------------------------------------------------
    def expr(self, v: Value, pos: int, what: str) -> Expr:
        """A value as a tnet expression: a number as a scalar; a bare 1 or I is an error."""
        if isinstance(v, Expr):
            return v
        if _is_number(v):
            return combine([], [], [], v)
        if isinstance(v, _Row):
            raise self.error(f"{what} cannot be a row vector", pos)
        raise self.error("cannot infer the size of a bare 1 or I: write it as 1{n} or I{n}", pos)

    def build(self, pos: int, fn: Any, *args: Any) -> Any:
        """fn(*args), its errors (sizes that do not match, 0 to a negative power) as a ParseError
        at pos."""
        try:
            return fn(*args)
        except (TnetError, ArithmeticError) as err:
            raise self.error(str(err), pos) from None

    # -- sum := sign* hadamard (('+' | '-') hadamard)* ---------------------------------------------
    def sum(self) -> Value:
        self.skip_ws()
        sign = 1.0
        while self.peek() and self.peek() in "+-":
            sign = -sign if self.peek() == "-" else sign
            self.pos += 1
            self.skip_ws()
        start = self.pos
        total = self.scaled(self.hadamard(), sign, start)
        while True:
            self.skip_ws()
            if not self.peek() or self.peek() not in "+-":
                return total
            op = self.pos
            sign = 1.0 if self.peek() == "+" else -1.0
            self.pos += 1
            self.skip_ws()
            at = self.pos
            total = self.elementwise(total, self.scaled(self.hadamard(), sign, at), "+", op)

    def scaled(self, v: Value, c: float, pos: int) -> Value:
        if c == 1:
            return v
        if _is_number(v):
            return c * v
        if isinstance(v, _Row):
            return _Row(scale(v.vector, c))
        return scale(self.expr(v, pos, "a signed term"), c)

    # -- hadamard := product (('⊙' | '*' | '⊘') product)* ------------------------------------------
    def hadamard(self) -> Value:
        value = self.product()
        while True:
            self.skip_ws()
            op = _HADAMARD.get(self.peek())
            if op is None:
                return value
            at = self.pos
            self.pos += 1
            value = self.elementwise(value, self.product(), op, at)

    def elementwise(self, a: Value, b: Value, op: str, pos: int) -> Value:
        """a + b, a ⊙ b or a ⊘ b, broadcasting as numpy does, a row vector as a 1 x n matrix: the
        result is a row vector when no operand is a matrix and one is a row vector."""
        if _is_number(a) and _is_number(b):
            return self.build(pos, _NUMBER_OPS[op], a, b)
        rows = [isinstance(v, _Row) for v in (a, b)]
        x, y = (v.vector if isinstance(v, _Row) else v for v in (a, b))
        row = any(rows) and all(r or _is_number(v) or v.ndim <= 1 for v, r in zip((x, y), rows))
        x, y = (v if _is_number(v) else self.expr(v, pos, f"an operand of {op}") for v in (x, y))
        out = self.build(pos, _TENSOR_OPS[op], x, y)
        return _Row(out) if row else out

    # -- product := postfix postfix ... ---------------------------------------------------------
    def starts_atom(self) -> bool:
        ch = self.peek()
        return bool(ch) and (ch.isalpha() or ch in _ATOM_START)

    def product(self) -> Value:
        self.skip_ws()
        start = self.pos
        items: list[tuple[Value, int]] = []
        while self.starts_atom():
            at = self.pos
            items.append((self.postfix(), at))
            self.skip_ws()
        if not items:
            raise self.error(f"expected a matrix, a vector or a number, found {self.found()}", start)
        if len(items) == 1:
            return items[0][0]
        values = [v for v, _ in items]
        for k, (_, at) in enumerate(items):  # in reading order: a sized I can size the 1 after it
            values[k] = self.sized(values, k, at)
        value = values[0]
        for (_, at), item in zip(items[1:], values[1:]):
            value = self.times(value, item, at)
        return value

    def sized(self, values: list[Value], k: int, at: int) -> Value:
        """Factor k of a product, a bare 1 or I given the size of its neighbour: the next factor's
        rows for 1^T (and I^T), the previous factor's columns for 1 (and I)."""
        item = values[k]
        if not isinstance(item, _Pending):
            return item
        size = None
        if item.row:
            nxt = values[k + 1] if k + 1 < len(values) else None
            if isinstance(nxt, Expr) and nxt.ndim >= 1:
                size = nxt.shape[0]
        else:
            prev = values[k - 1] if k else None
            if isinstance(prev, _Row):
                size = prev.vector.shape[0]
            elif isinstance(prev, Expr) and prev.ndim == 2:
                size = prev.shape[1]
        if size is None:
            shown = "1" if item.kind == "ones" else "I"
            raise self.error(
                f"cannot infer the size of this {shown}{'^T' if item.row else ''}: write it as {shown}{{n}}", at
            )
        if item.kind == "identity":
            return Delta(size, 2)
        return _Row(Ones(size)) if item.row else Ones(size)

    def times(self, a: Value, b: Value, pos: int) -> Value:
        """Juxtaposition: the matrix product, vectors being columns (rows once transposed); a
        scalar multiplies element-wise."""
        for x, y in ((a, b), (b, a)):
            if _is_number(x):
                return x * y if _is_number(y) else self.scaled(y, x, pos)
        for x, y in ((a, b), (b, a)):
            if isinstance(x, Expr) and x.ndim == 0:
                if isinstance(y, _Row):
                    return _Row(self.build(pos, multiply, x, y.vector))
                return self.build(pos, multiply, x, y)
        if isinstance(a, _Row):
            if isinstance(b, _Row):
                raise self.error("cannot multiply two row vectors", pos)
            out = self.build(pos, matmul, a.vector, b)
            return out if b.ndim == 1 else _Row(out)
        if isinstance(b, _Row):
            if a.ndim != 1:
                raise self.error("a row vector must follow a column vector or come first", pos)
            return self.build(pos, kron, a, b.vector)
        if a.ndim != 2:
            raise self.error(f"cannot multiply a tensor with {a.ndim} axes on the left", pos)
        return self.build(pos, matmul, a, b)

    # -- postfix := atom ('^T' | "'" | '^-1' | '^-T' | '^⊙' number)* ------------------------------
    def postfix(self) -> Value:
        start = self.pos
        value = self.atom()
        while True:
            at = self.pos
            if self.eat("^T") or self.eat("'"):
                value = self.transposed(value)
            elif self.eat("^-1") or self.eat("^-T"):
                value = self.inverse(value, start, transposed=self.text[self.pos - 1] == "T")
            elif self.eat("^⊙"):
                m = self.number(SIGNED_NUMBER)
                if not m:
                    raise self.error("expected a number after '^⊙'")
                self.pos = m.end()
                value = self.powered(value, self.number_of(m.group(), m.start()), start)
            elif self.peek() == "^":
                raise self.error("expected T, -1, -T or ⊙p after '^'", at)
            else:
                return value

    def transposed(self, v: Value) -> Value:
        if isinstance(v, _Row):
            return v.vector
        if isinstance(v, _Pending):
            return _Pending(v.kind, not v.row)
        if _is_number(v) or v.ndim == 0:
            return v
        return _Row(v) if v.ndim == 1 else transpose(v)

    def inverse(self, v: Value, pos: int, transposed: bool) -> Value:
        if _is_number(v):
            if v == 0:
                raise self.error("the number 0 has no inverse", pos)
            return 1 / v
        inv = self.build(pos, apply, "inv", self.expr(v, pos, "an inverse"))
        return transpose(inv) if transposed else inv

    def powered(self, v: Value, p: float, pos: int) -> Value:
        if _is_number(v):
            return self.build(pos, pow, v, p)
        if isinstance(v, _Row):
            return _Row(self.build(pos, power, v.vector, p))
        return self.build(pos, power, self.expr(v, pos, "a power"), p)

    # -- atoms -----------------------------------------------------------------------------------
    def number_of(self, token: str, at: int) -> Any:
        """The value of a number token read at position `at`, or a ParseError there."""
        try:
            return number_value(token)
        except (ValueError, ZeroDivisionError) as err:
            raise self.error(str(err) if isinstance(err, ValueError) else f"{token!r} divides by 0", at) from None

    def atom(self) -> Value:
        start = self.pos
        ch = self.peek()
        if ch == "(":
            m = self.number(COMPLEX)
            if m:  # (1+2j), as the printers write a complex coefficient
                self.pos = m.end()
                return self.number_of(m.group(), start)
            self.enter(start)
            self.pos += 1
            value = self.sum()
            self.skip_ws()
            if not self.eat(")"):
                raise self.error(f"expected ')' to close the '(' at position {start}, found {self.found()}")
            self.leave()
            return value
        if ch in "0123456789.":
            if self.startswith("1") and self.peek(1) not in tuple("0123456789.eEj"):
                self.pos += 1  # 1 is the all-ones vector, never the number one
                if self.peek() == "{":
                    return Ones(self.size_braces("1")[0])
                return _Pending("ones")
            m = self.number(NUMBER)
            if not m:
                raise self.error(f"expected a number, found {self.found()}")
            self.pos = m.end()
            return self.number_of(m.group(), start)
        if ch == "`":
            return self.lookup(self.quoted(), start)
        name = self.name_run()
        if not name:
            raise self.error(f"unexpected {self.found()}")
        if self.peek() == "_":
            name = self.underscored_function_name(name, start)
        if name == "I":
            if self.peek() == "{":
                size, order = self.size_braces("I")
                return Delta(size, order)
            return _Pending("identity")
        if self.peek() and self.peek() in "(^{" and name not in self.bindings:
            return self.function(name, start)
        return self.lookup(name, start)

    def function(self, name: str, start: int) -> Expr:
        """f(x), f^P(x), pow{p}(x), tr(X), diag(x), einsum("spec", ...)."""
        fn: Function | None = None
        if name == "pow" and self.peek() == "{":
            fn = power_function(self.exponent_braces())
        elif name not in ("tr", "diag", "einsum"):
            fn = registered().get(name)
            if fn is None and not is_family(name):
                raise self.error(f"unknown function {name!r}", start)
        axes = None
        if self.eat("^"):
            axes = [p - 1 for p in self.positions(f"after {name}^")]
        if self.peek() != "(":
            raise self.error(f"expected '(' after the function {name}, found {self.found()}")
        self.enter(self.pos)
        self.pos += 1
        if name == "einsum":
            out = self.einsum(start)
        elif fn is not None and fn.arity > 1:  # f(A, B, ...)
            args: list[Expr] = []
            while True:
                at = self.pos
                args.append(self.expr(self.sum(), at, f"argument {len(args) + 1} of {name}"))
                self.skip_ws()
                if self.eat(")"):
                    break
                if not self.eat(","):
                    raise self.error(f"expected ',' or ')' in the arguments of {name}, found {self.found()}")
            out = self.build(start, call, fn, *args)
        else:
            at = self.pos
            arg = self.expr(self.sum(), at, f"the argument of {name}")
            self.skip_ws()
            if not self.eat(")"):
                raise self.error(f"expected ')' after the argument of {name}, found {self.found()}")
            if fn is None and is_family(name):  # max, min, ...: the member for the axes P leaves
                fn = family_member(name, arg.ndim - (len(axes) if axes else 0))
            if fn is not None:
                out = self.build(start, apply, fn, arg, axes)
            else:
                out = self.build(start, trace if name == "tr" else diag, arg)
        self.leave()
        return out

    def einsum(self, start: int) -> Expr:
        """einsum("spec", A, B, ...) after its '(' (consumed up to the ')')."""
        self.skip_ws()
        if self.peek() != '"':
            raise self.error('expected the einsum spec in double quotes, as in einsum("ij,jk->ik", A, B)')
        spec_start = self.pos + 1
        spec_end = self.text.find('"', spec_start)
        if spec_end == -1:
            raise self.error("the einsum spec is never closed")
        self.pos = spec_end + 1
        operands: list[Expr] = []
        while True:
            self.skip_ws()
            if self.eat(")"):
                break
            if not self.eat(","):
                raise self.error(f"expected ',' or ')' in einsum(...), found {self.found()}")
            at = self.pos
            operands.append(self.expr(self.sum(), at, "an einsum operand"))
        end = self.pos
        self.pos = spec_start
        inputs, output = read_spec(self, spec_end, [o.ndim for o in operands])
        self.pos = end
        return self.build(start, combine, operands, inputs, output)


def parse_matrix(text: str, /, **tensors: Any) -> Expr:
    """Read a formula in matrix notation into a tnet expression (see the module's grammar).

    Keyword arguments bind the names in the text to tnet expressions or numeric arrays (an array
    becomes `Constant(name, array)`); ``1``, ``I`` and the registered functions need none::

        parse_matrix("x^T A x", x=x, A=A)                 # a scalar: x @ A @ x
        parse_matrix("2 a a^T X", a=a, X=X)               # tnet.grad(a @ X @ X.T @ a, X)
        parse_matrix("diag(s) - s s^T", s=tnet.softmax(x))

    The text may open with definition lines, ``t1 = tanh(X W)``, one per line, each naming a
    formula for the lines after it: `to_matrix` writes a large expression so.

    Raises `tnet.ParseError` naming the position in the text and what was expected."""
    if not isinstance(text, str):
        raise TypeError(f"parse_matrix: the text must be a str, got {type(text).__name__}")
    return read_definitions(text, bind(tensors, "parse_matrix"), _read)


def _read(text: str, bindings: Mapping[str, Expr], defined: set[Expr]) -> Expr:
    reader = _MatrixReader(text, bindings)
    return reader.guarded(reader.read)


def eval_matrix(text: str, /, **arrays: Any) -> np.ndarray:
    """Evaluate a formula in matrix notation, such as what `to_matrix` prints, with numpy arrays
    for the names: `parse_matrix` then `tnet.evaluate`.

    Juxtaposition is the matrix product (vectors are columns; ``v^T`` is a row), ``⊙`` (or ``*``)
    the Hadamard product and ``⊘`` element-wise division, ``^T``, ``^-1``, ``^-T``, ``^⊙p``
    postfix; ``tr``, ``diag``, ``det``, ``einsum("spec", ...)``, ``pow{p}`` and the registered
    functions (``softmax^1(A)``); ``1`` and ``I`` (bare where a neighbour gives their size, else
    ``1{n}``, ``I{n}``, ``I{n,k}``)."""
    return evaluate(parse_matrix(text, **arrays))
