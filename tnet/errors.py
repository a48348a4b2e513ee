"""The errors tnet raises. Every message names the problem (sizes, axes, names, positions)."""

from __future__ import annotations


class TnetError(Exception):
    """Base class of every error tnet raises on bad input."""


class ShapeError(TnetError, ValueError):
    """Sizes that must agree do not (an edge joining legs of different sizes, operands of different shapes)."""


class AxisError(TnetError, ValueError):
    """An axis out of range, repeated axes, or a list of axes that is not a permutation."""


class IndexingError(TnetError, IndexError):
    """An index out of range (the message gives the index, the axis and its size), or an index
    of a kind tnet does not take."""


class BindingError(TnetError, KeyError):
    """A missing, unknown or ill-shaped binding given to evaluate()."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ContractionError(TnetError, ValueError):
    """A network or an array list that cannot be contracted (the message says why and where)."""


class DifferentiationError(TnetError, ValueError):
    """Differentiating with respect to a non-Variable, or through a function without a derivative rule."""


class ParseError(TnetError, ValueError):
    """A notation string that cannot be read; the message gives the 0-based position in the text
    (and the line and column, in a text of several lines). `reason` is the message alone."""

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        self.text = text
        self.position = position
        self.reason = message
        if position is not None:
            start = text.rfind("\n", 0, position) + 1
            end = text.find("\n", position)
            line = text[start : len(text) if end < 0 else end]
            where = f"position {position}"
            if "\n" in text:
                where = f"line {text.count(chr(10), 0, position) + 1}, column {position - start + 1}, {where}"
            message = f"{message} (at {where})\n  {line}\n  {' ' * (position - start)}^"
        super().__init__(message)


class LimitError(TnetError, ValueError):
    """Input or a derivation beyond a bound of the front doors (length, expression size, time)."""


class RenderError(TnetError, RuntimeError):
    """Rendering failed, for example because the Graphviz `dot` program is missing."""


class UnsupportedFormatError(RenderError, ValueError):
    """A file suffix that tnet.render.save does not know."""


class CompileError(TnetError, ValueError):
    """tnet.compile cannot generate or run code: an unknown backend, a backend library that is
    not installed, a function the backend cannot write, or a size that is not fixed."""
