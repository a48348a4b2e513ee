"""The one scanner that every reader of the notation uses (bracket and index notation, matrix
notation, einsum specs): a cursor over the text that reads names, numbers, braces and
positions, and makes `ParseError`s that point at a position in the text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

import numpy as np

from ..errors import ParseError, TnetError
from ..expr import Expr, Size
from ..functions import registered
from .names import DIGITS, is_name_char, is_name_start, is_plain_name

__all__ = ["COEFFICIENT", "COMPLEX", "NUMBER", "SIGNED_NUMBER", "Scanner", "number_value", "read_definitions"]

_REAL = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_EXPONENT = r"(?:[eE][+-]?[0-9]+)?"
#: a number: 2, 0.5, 1e-3, 2j
NUMBER = re.compile(_REAL + _EXPONENT + "j?")
#: a real number with an optional sign, as exponents are written: -1, +0.5, 2
SIGNED_NUMBER = re.compile(r"[+-]?" + _REAL + _EXPONENT)
#: a coefficient of bracket notation: a number or a fraction, 1/2
COEFFICIENT = re.compile(_REAL + _EXPONENT + "j?" + "(?:/" + _REAL + ")?")
#: a complex number as the printers write it: (1+2j), (-0.5-1e-3j)
COMPLEX = re.compile(r"\(\s*[+-]?" + _REAL + _EXPONENT + r"\s*[+-]\s*" + _REAL + _EXPONENT + r"j\s*\)")

T = TypeVar("T")
_PAIRS = {"(": ")", "[": "]", "{": "}"}
MAX_DEPTH = 60  # nesting of brackets, parentheses and function arguments
MAX_ORDER = 32  # order of a copy tensor I{n,k}


def number_value(token: str) -> complex | float:
    """The value of a number token such as 2, -0.5, 1e-3, 2j, 1/2 or (1+2j)."""
    num, _, den = token.replace(" ", "").partition("/")
    value: complex | float = complex(num) if num.endswith("j") or num.endswith("j)") else float(num)
    if den:
        d = float(den)
        if d == 0:
            raise ZeroDivisionError(token)
        value = value / d
    if not np.isfinite(value):  # 1e999, or an integer of hundreds of digits: no float holds it
        raise ValueError(f"the number {token[:20]}{'...' if len(token) > 20 else ''} does not fit a float")
    return value


#: the start of a definition line, ``t1 = ...``: a plain or backquoted name, then ``=``
_DEFINITION = re.compile(r"[ \t]*(`[^`\n]*`|[^\W\d_][^\W_]*)[ \t]*=")


#: a reader of one expression: read(text, bindings, defined), where `defined` holds the
#: expressions of the definition lines read before (a reader may keep them whole)
Reader = Callable[[str, Mapping[str, Expr], set[Expr]], Expr]


def read_definitions(text: str, bindings: Mapping[str, Expr], read: Reader) -> Expr:
    """Read a text that may open with definition lines (``t1 = ...``, one per line, as the
    printers write the shared sub-expressions of a large expression): each definition is read
    with `read` and the names bound so far, and binds its name for the lines after it; the
    rest of the text is the expression. A ParseError points into the whole text."""
    bound = dict(bindings)
    defined: set[Expr] = set()
    start = 0
    while (found := _DEFINITION.match(text, start)) is not None and (end := text.find("\n", start)) >= 0:
        name = found.group(1).strip("`")
        if name in bound:
            what = "defined on an earlier line" if name not in bindings else "bound by a keyword argument"
            raise ParseError(f"{name} is defined here and {what}", text, found.start(1))
        bound[name] = _read_at(text, found.end(), end, bound, defined, read)
        defined.add(bound[name])
        start = end + 1
    return _read_at(text, start, len(text), bound, defined, read)


def _read_at(text: str, start: int, end: int, bindings: Mapping[str, Expr], defined: set[Expr], read: Reader) -> Expr:
    if start == 0 and end == len(text):
        return read(text, bindings, defined)
    try:
        return read(text[start:end], bindings, defined)
    except ParseError as err:
        position = None if err.position is None else start + err.position
        raise ParseError(err.reason, text, position) from None


class Scanner:
    """A position in a text, and the reading steps the notations share.

    `match_groups()` pairs every bracket, parenthesis and brace of the whole text up front (the
    bracket reader looks ahead inside groups); readers that do not call it find a closing brace
    by searching."""

    def __init__(self, text: str, bindings: Mapping[str, Expr] | None = None) -> None:
        self.text = text
        self.bindings: Mapping[str, Expr] = bindings or {}  # the tensor names the text may use
        self.n = len(text)
        self.pos = 0
        self.depth = 0
        self.match: dict[int, int] = {}  # opening position -> closing position
        self.run_ends: dict[int, int] = {}  # position inside a run of name characters -> its end
        self.quote_end: dict[int, int] = {}  # opening backquote -> closing backquote

    def guarded(self, rule: Callable[[], T]) -> T:
        """rule(), reading this text: every error it raises on bad input becomes a ParseError."""
        try:
            return rule()
        except ParseError:
            raise
        except RecursionError:
            raise ParseError("the expression is nested too deeply", self.text, None) from None
        except TnetError as err:
            raise ParseError(str(err), self.text, min(self.pos, self.n)) from None

    # -- where we are ----------------------------------------------------------------------------
    def error(self, message: str, pos: int | None = None) -> ParseError:
        """A ParseError at `pos` (default: the current position)."""
        at = self.pos if pos is None else pos
        return ParseError(message, self.text, min(max(at, 0), self.n))

    def peek(self, offset: int = 0) -> str:
        """The character at the position (plus offset), or '' past the end."""
        k = self.pos + offset
        return self.text[k] if 0 <= k < self.n else ""

    def startswith(self, prefix: str) -> bool:
        return self.text.startswith(prefix, self.pos)

    def skip_ws(self) -> None:
        while self.pos < self.n and self.text[self.pos].isspace():
            self.pos += 1

    def found(self) -> str:
        """What is at the position, for messages: 'x' or the end of the text."""
        return repr(self.peek()) if self.pos < self.n else "the end of the text"

    def eat(self, prefix: str) -> bool:
        """Step over `prefix` if the text continues with it."""
        if self.startswith(prefix):
            self.pos += len(prefix)
            return True
        return False

    def enter(self, pos: int) -> None:
        """One level deeper into brackets, parentheses or function arguments."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the expression is nested more than {MAX_DEPTH} levels deep", pos)

    def leave(self) -> None:
        self.depth -= 1

    # -- tokens ----------------------------------------------------------------------------------
    def number(self, pattern: re.Pattern[str] = NUMBER) -> re.Match[str] | None:
        """The number token at the position (not consumed), or None."""
        return pattern.match(self.text, self.pos)

    def name_run(self, end: int | None = None) -> str:
        """The run of letters and digits at the position (consumed), starting with a letter; ''
        if there is no name here."""
        start = self.pos
        stop = self.n if end is None else end
        if start >= stop or not is_name_start(self.text[start]):
            return ""
        run_end = self.run_ends.get(start)
        if run_end is None:  # scan the run once; readers that take it apart come back inside it
            run_end = start
            while run_end < self.n and is_name_char(self.text[run_end]):
                run_end += 1
            self.run_ends.update(dict.fromkeys(range(start, run_end), run_end))
        j = min(run_end, stop)
        self.pos = j
        return self.text[start:j]

    def underscored_function_name(self, run: str, start: int, end: int | None = None) -> str:
        """After the name run `run` (read from `start`) and a '_': the whole name of a
        registered function whose name holds '_' (log_softmax), taken when a '(' or '^' follows
        it (the position moves past it); otherwise `run`, the position unchanged."""
        stop = self.n if end is None else end
        best = run
        for name in registered():
            size = len(name)
            if name.startswith(run + "_") and size > len(best) and start + size < stop:
                if self.text[start : start + size] == name and self.text[start + size] in "(^":
                    best = name
        if best is not run:
            self.pos = start + len(best)
        return best

    def quoted(self) -> str:
        """The name between backquotes at the position (consumed)."""
        start = self.pos
        close = self.quote_end.get(start)
        if close is None:
            close = self.text.find("`", start + 1)
            if close == -1:
                raise self.error("a backquoted name is never closed", start)
        self.pos = close + 1
        return self.text[start + 1 : close]

    def lookup(self, name: str, pos: int) -> Expr:
        """The tensor bound to `name`."""
        if name not in self.bindings:
            raise self.lookup_error(name, pos)
        return self.bindings[name]

    def lookup_error(self, name: str, pos: int) -> ParseError:
        known = ", ".join(sorted(self.bindings)[:20]) or "none"
        return self.error(f"unknown tensor name {name!r} (the names given are: {known})", pos)

    def closing(self, start: int) -> int:
        """The position of the brace, bracket or parenthesis that closes the one at `start`."""
        close = self.match.get(start)
        if close is None:
            close = self.text.find(_PAIRS[self.text[start]], start + 1)
            if close == -1:
                raise self.error(f"{self.text[start]!r} is never closed", start)
        return close

    def braces(self) -> tuple[str, int]:
        """'{' text '}' at the position (consumed): the text inside and where it starts."""
        start = self.pos
        close = self.closing(start)
        self.pos = close + 1
        return self.text[start + 1 : close], start + 1

    def positions(self, where: str) -> tuple[int, ...]:
        """1-based positions, as in the paper: digits 1-9 each a position, or {p, q, ...}."""
        start = self.pos
        if self.peek() == "{":
            inner, at = self.braces()
            out = []
            for item in (x for x in re.split(r"[\s,]+", inner) if x):
                if not all(ch in DIGITS for ch in item):
                    raise self.error(f"expected a position (a positive integer) {where}, found {item!r}", at)
                if int(item) == 0:
                    raise self.error("positions start at 1, as in the paper", at)
                out.append(int(item))
            return tuple(out)
        out = []
        while self.peek() and self.peek() in DIGITS:
            if self.peek() == "0":
                raise self.error("positions start at 1, as in the paper; write A_{10} for position 10")
            out.append(int(self.peek()))
            self.pos += 1
        if not out:
            raise self.error(
                f"expected positions (digits, or {{10,11}}) {where}, found {self.found()}; index notation is "
                "written in parentheses with '|', as in (A_ij B_jk | ik)",
                start,
            )
        return tuple(out)

    def exponent_braces(self) -> float:
        """'{' p '}' after pow (consumed): a real number, the exponent of pow{p}."""
        start = self.pos
        inner, at = self.braces()
        if not SIGNED_NUMBER.fullmatch(inner.strip()):
            raise self.error("expected a number exponent in pow{p}", start + 1)
        return float(inner)

    def size_braces(self, what: str) -> tuple[Size, int]:
        """'{' size [',' order] '}' after 1 or I (consumed): 1{n}, I{n}, I{n,k}; a size is an
        integer or a size name."""
        start = self.pos
        inner, at = self.braces()
        parts = inner.split(",")
        if len(parts) > 2 or (len(parts) == 2 and what != "I"):
            raise self.error(f"expected {what}{{size}}" + (" or I{size,order}" if what == "I" else ""), start)
        text = parts[0].strip()
        size: Size
        if text and all(ch in DIGITS for ch in text):
            size = int(text)
        elif is_plain_name(text):
            size = text
        else:
            raise self.error(f"expected a size (an integer or a size name) in {what}{{...}}", at)
        order = 2
        if len(parts) == 2:
            text = parts[1].strip()
            if not text or not all(ch in DIGITS for ch in text) or not 1 <= int(text) <= MAX_ORDER:
                raise self.error(f"expected an order between 1 and {MAX_ORDER} in I{{size,order}}", at)
            order = int(text)
        return size, order

    # -- groups ----------------------------------------------------------------------------------
    def match_groups(self) -> None:
        """Pair every (, [ and { of the text with its closing character, and every backquote
        with the next; ParseError for one that is never closed or a closing one unmatched."""
        stack: list[int] = []
        text = self.text
        i = 0
        while i < self.n:
            ch = text[i]
            if ch == "`":
                j = text.find("`", i + 1)
                if j == -1:
                    raise self.error("a backquoted name is never closed", i)
                self.quote_end[i] = j
                i = j + 1
                continue
            if ch in _PAIRS:
                stack.append(i)
            elif ch in ")]}":
                if not stack:
                    raise self.error(f"unmatched {ch!r}", i)
                opener = stack.pop()
                if _PAIRS[text[opener]] != ch:
                    raise self.error(f"{ch!r} closes {text[opener]!r} at position {opener}", i)
                self.match[opener] = i
            i += 1
        if stack:
            raise self.error(f"{text[stack[-1]]!r} is never closed", stack[-1])

    def top_level(self, start: int, end: int) -> Iterator[tuple[int, str]]:
        """The characters between start and end outside nested groups, names and numbers
        (a group, number or name is reported once, by its first character); needs
        `match_groups()`."""
        text = self.text
        i = start
        while i < end:
            ch = text[i]
            yield i, ch
            if ch in _PAIRS:
                i = self.match[i] + 1
            elif ch == "`":
                i = self.quote_end[i] + 1
            elif ch in DIGITS or (ch == "." and i + 1 < end and text[i + 1] in DIGITS):
                m = COEFFICIENT.match(text, i)
                i = m.end() if m else i + 1
            else:
                i += 1
