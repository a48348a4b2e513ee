"""The paper's notation, in and out: one direction of one notation per module.

| module         | what                                                                    |
|----------------|-------------------------------------------------------------------------|
| names.py       | the name syntax, `format_number`, the printed names of leaves (`leaves`) |
| scan.py        | the scanner every reader uses (positions in `ParseError`s)              |
| bracket_in.py  | bracket and index notation in: `parse`                                  |
| bracket_out.py | bracket notation out: `to_bracket` (ASCII), `to_latex`                  |
| matrix_out.py  | matrix notation out: `to_matrix`                                        |
| matrix_in.py   | matrix notation in: `parse_matrix`, `eval_matrix`                       |
| formula_in.py  | the formula language in (`x'*A*x`, declarations, shape inference): `parse_formula` |
| mathml_out.py  | MathML out, in matrix or bracket notation: `to_mathml`                  |
| einsum_in.py   | einsum specs in: `parse_einsum` (used by `tnet.einsum`)                 |
| describe.py    | `describe`, the repr() of expressions                                   |

docs/notation.md documents the syntax."""

from __future__ import annotations

from .bracket_in import parse
from .bracket_out import to_bracket, to_latex
from .describe import describe
from .einsum_in import einsum, parse_einsum
from .formula_in import parse_formula
from .mathml_out import to_mathml
from .matrix_in import eval_matrix, parse_matrix
from .matrix_out import to_matrix
from .names import format_number, leaves

__all__ = [
    "describe",
    "einsum",
    "eval_matrix",
    "format_number",
    "leaves",
    "parse",
    "parse_einsum",
    "parse_formula",
    "parse_matrix",
    "to_bracket",
    "to_latex",
    "to_mathml",
    "to_matrix",
]
