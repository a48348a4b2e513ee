"""The examples of README.md and docs/*.md run, and say what they print.

Each file's ```python blocks run in order in one namespace, statement by statement. A statement
that is a bare expression with a comment that opens with a quoted text (``e.to_matrix()  #
'A B'``) must evaluate to that text; a ``print(...)`` with a comment must print the comment's
text (its opening quoted text if it has one, else the whole comment)."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [p for p in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))) if "```python" in p.read_text("utf-8")]
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
_QUOTED = re.compile(r"""^(['"])(.*?)\1""")


def _comments(source: str) -> dict[int, str]:
    """Line number -> the text of the comment on that line."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string[1:].strip()
    return found


def _expected(comment: str, printed: bool) -> str | None:
    quoted = _QUOTED.match(comment)
    if quoted:
        return quoted.group(2)  # as a reader reads it: a backslash is a backslash
    return comment if printed else None


def _is_print(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "print"
    )


def _run_block(source: str, namespace: dict[str, object], where: str) -> int:
    """Run one block; return the number of stated results it checked."""
    comments = _comments(source)
    checked = 0
    for node in ast.parse(source).body:
        comment = comments.get(node.end_lineno or node.lineno)
        text = ast.get_source_segment(source, node) or ""
        label = f"{where}, line {node.lineno}: {text.splitlines()[0]}"
        printed = _is_print(node)
        want = _expected(comment, printed) if comment and isinstance(node, ast.Expr) else None
        if want is None:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(ast.Module([node], []), where, "exec"), namespace)
            continue
        if printed:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(ast.Module([node], []), where, "exec"), namespace)
            got = out.getvalue().strip()
        else:
            got = eval(compile(ast.Expression(node.value), where, "eval"), namespace)  # type: ignore[attr-defined]
        assert got == want, f"{label}\n  says  {want!r}\n  gives {got!r}"
        checked += 1
    return checked


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_the_examples_of_a_document_run_and_give_what_they_say(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the examples write files (the compiled modules)
    blocks = _BLOCK.findall(path.read_text(encoding="utf-8"))
    assert blocks, f"{path.name} has no python example"
    namespace: dict[str, object] = {}
    checked = sum(_run_block(block, namespace, f"{path.name} block {k + 1}") for k, block in enumerate(blocks))
    assert checked > 0, f"{path.name}: no example states its result"
