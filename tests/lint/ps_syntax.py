"""Parse PowerShell scripts with a real PowerShell grammar (tree-sitter-powershell) and fail
on any syntax error: ``python tests/lint/ps_syntax.py FILE...`` (``nox -s lint`` runs it on
setup/*.ps1). This machine has no PowerShell; the grammar catches what it cannot run, such as
one unbalanced parenthesis.

Prints ``FILE:LINE:COL: syntax error near 'TEXT'`` per error; exit 1 when any, 0 otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import tree_sitter
import tree_sitter_powershell


def _errors(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    if node.type == "ERROR" or node.is_missing:
        yield node
        return
    if node.has_error:
        for child in node.children:
            yield from _errors(child)


def check(path: Path, parser: tree_sitter.Parser) -> list[str]:
    """One line per syntax error in ``path``."""
    source = path.read_bytes()
    out = []
    for node in _errors(parser.parse(source).root_node):
        line, col = node.start_point
        near = source[node.start_byte:node.end_byte][:40].decode("utf-8", "replace")
        what = f"missing {node.type!r}" if node.is_missing else f"syntax error near {near!r}"
        out.append(f"{path}:{line + 1}:{col + 1}: {what}")
    return out


def main(argv: list[str]) -> int:
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    problems = [line for name in argv for line in check(Path(name), parser)]
    for line in problems:
        print(line)
    print(f"powershell syntax: {len(argv)} file(s), {len(problems)} error(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
