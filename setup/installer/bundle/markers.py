"""Evaluate PEP 508 environment markers for a target that is not this machine (stdlib only).

The bundle builder runs in the installer tier, which has no ``packaging``; the locks' markers
use a small subset (``==``, ``!=``, ``<``... on implementation_name, platform_machine,
sys_platform, python_version, python_full_version), so a tiny recursive-descent evaluator is
enough and is tested against ``packaging`` on every marker of the committed locks. The values
it evaluates against are the contract's: ``Platform.marker_environment`` (envs.contract.platforms).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["MarkerError", "evaluate"]

_TOKEN = re.compile(r"""\s*(\(|\)|and\b|or\b|not\s+in\b|in\b|===|==|!=|<=|>=|~=|<|>|
                        '[^']*'|"[^"]*"|[A-Za-z_][A-Za-z0-9_.]*)""", re.VERBOSE)
_VERSION_VARS = {"python_version", "python_full_version", "implementation_version"}
_OPS = {"==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in"}

class MarkerError(ValueError):
    """A marker this evaluator cannot read."""


def _tokens(marker: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = marker.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise MarkerError(f"cannot read marker {marker!r} at {text[pos:]!r}")
        out.append(" ".join(match.group(1).split()))
        pos = match.end()
    return out


def _version(text: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", text)
    return tuple(int(p) for p in parts)


def _compare(left: str, op: str, right: str, versions: bool) -> bool:
    if op in ("in", "not in"):
        return (left in right) == (op == "in")
    if versions and op not in ("===",):
        a, b = _version(left), _version(right)
        width = max(len(a), len(b))
        a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
        if op == "~=":
            return a >= b and a[:len(_version(right)) - 1] == b[:len(_version(right)) - 1]
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
                ">=": a >= b}[op]
    if op in ("==", "==="):
        return left == right
    if op == "!=":
        return left != right
    raise MarkerError(f"operator {op!r} needs versions, got {left!r} and {right!r}")


class _Parser:
    def __init__(self, tokens: list[str], env: Mapping[str, str]) -> None:
        self.tokens, self.env, self.pos = tokens, env, 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise MarkerError("marker ends too early")
        self.pos += 1
        return tok

    def expr(self) -> bool:
        value = self.conj()
        while self.peek() == "or":
            self.take()
            value = self.conj() or value
        return value

    def conj(self) -> bool:
        value = self.atom()
        while self.peek() == "and":
            self.take()
            value = self.atom() and value
        return value

    def atom(self) -> bool:
        if self.peek() == "(":
            self.take()
            value = self.expr()
            if self.take() != ")":
                raise MarkerError("unbalanced parenthesis in marker")
            return value
        left_tok, op, right_tok = self.take(), self.take(), self.take()
        if op not in _OPS:
            raise MarkerError(f"unknown marker operator {op!r}")
        versions = left_tok in _VERSION_VARS or right_tok in _VERSION_VARS
        return _compare(self.value(left_tok), op, self.value(right_tok), versions)

    def value(self, tok: str) -> str:
        if tok[:1] in ("'", '"'):
            return tok[1:-1]
        if tok not in self.env:
            raise MarkerError(f"unknown marker variable {tok!r}")
        return self.env[tok]


def evaluate(marker: str | None, env: Mapping[str, str]) -> bool:
    """Whether ``marker`` holds in ``env`` (no marker holds everywhere)."""
    if not marker or not marker.strip():
        return True
    parser = _Parser(_tokens(marker), env)
    result = parser.expr()
    if parser.peek() is not None:
        raise MarkerError(f"unexpected {parser.peek()!r} in marker {marker!r}")
    return result
