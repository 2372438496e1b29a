"""Linear-time regular expressions: every pattern the verifier runs on model text is compiled by RE2.

RE2 matches in time linear in the text, whatever the pattern (no backtracking), so no answer string can
make a grade hang. It has no lookaround and reads `\\d \\s \\w` as ASCII, unlike Python's `re` on `str`:
`compile` rewrites those three (and `\\S`, `\\uXXXX`) to the exact Unicode sets Python uses, so a pattern
means what it meant under `re`, and refuses what RE2 cannot run (lookaround, backreferences). The few
rewrites that needed a lookahead are written as a match plus a check of the matched macro name
(`macro_rewrite`). `tests/test_verify_linear.py` fails when a module of `deepmath_ext/verify` uses `re`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator

import re2

# Python's `\s` on str is `str.isspace`; every such character is below U+3001.
_SPACE_CLASS = "".join(f"\\x{{{code:x}}}" for code in range(0x3001) if chr(code).isspace())
# Python's `\d` is Unicode category Nd; its `\w` is str.isalnum() or "_" (letters and numbers).
_ESCAPES_OUTSIDE = {"d": r"\p{Nd}", "s": f"[{_SPACE_CLASS}]", "S": f"[^{_SPACE_CLASS}]", "w": r"[\pL\pN_]"}
_ESCAPES_INSIDE = {"d": r"\p{Nd}", "s": _SPACE_CLASS, "w": r"\pL\pN_"}
_REFUSED = ("(?=", "(?!", "(?<=", "(?<!")

Match = re2._Match
Replacement = str | Callable[[Match], str]


class Pattern(re2._Regexp):
    """An RE2 pattern with `re`'s methods; a replacement string without backslashes is taken literally."""

    __slots__ = ()

    def subn(self, repl: Replacement, text: str, count: int = 0) -> tuple[str, int]:
        """As `re.Pattern.subn`. (re2 unescapes templates through latin-1, which garbles other characters.)"""
        if isinstance(repl, str) and "\\" not in repl:
            literal = repl
            repl = lambda match: literal  # noqa: E731
        elif isinstance(repl, str) and not repl.isascii():
            raise ValueError(f"a replacement template with group references must be ASCII: {repl!r}")
        return super().subn(repl, text, count)

    def _match(
        self, anchor: object, text: str, pos: int | None = None, endpos: int | None = None
    ) -> Iterator[Match]:
        """The wrapper's match loop, without its UTF-8 offset mapping when the text is ASCII (most answers).

        Mirrors `re2._Regexp._match` of google-re2 1.1 (tested: 1.1.20251105), whose bytes branch this is."""
        if not text.isascii():
            yield from super()._match(anchor, text, pos, endpos)
            return
        encoded = text.encode("ascii")  # byte offsets are character offsets
        pos = 0 if pos is None else max(0, min(pos, len(text)))
        endpos = len(text) if endpos is None else max(0, min(endpos, len(text)))
        while pos <= endpos:
            spans = self._regexp.Match(anchor, encoded, pos, endpos)
            if spans[0] == re2._NULL_SPAN:
                return
            yield Match(self, text, pos, endpos, spans)
            if pos == endpos:
                return
            pos = pos + 1 if pos == spans[0][1] else spans[0][1]


class PatternSet:
    """Which of several patterns occur somewhere in a text, found in one linear pass (RE2::Set)."""

    def __init__(self, patterns: list[str]) -> None:
        self._set = re2.Set.SearchSet()
        for pattern in patterns:
            _check(pattern)
            self._set.Add(_translate(pattern))
        self._set.Compile()

    def matching(self, text: str) -> list[int]:
        """Indices of the patterns that match somewhere in the text, in increasing order."""
        return sorted(self._set.Match(text) or ())


# A macro name as a group: with `macro_rewrite`, what `\\name(?![a-zA-Z])` is in `re`.
MACRO = r"\\([a-zA-Z]+)"


def _translate(pattern: str) -> str:
    """The RE2 spelling of a Python pattern: Unicode `\\d \\s \\S \\w` and `\\uXXXX` escapes."""
    out, index, in_class = [], 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escape = pattern[index + 1]
            table = _ESCAPES_INSIDE if in_class else _ESCAPES_OUTSIDE
            if escape == "u":
                out.append(f"\\x{{{pattern[index + 2 : index + 6]}}}")
                index += 6
                continue
            if escape in "bBDW" or (escape in "S" and in_class):
                raise ValueError(f"\\{escape} has no Unicode form in RE2; write the set out: {pattern!r}")
            out.append(table.get(escape, char + escape))
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            # A `]` right after `[` or `[^` is a literal in both dialects.
            prefix = (
                "[^]" if pattern.startswith("[^]", index) else "[]" if pattern.startswith("[]", index) else ""
            )
            out.append(prefix or char)
            index += len(prefix) or 1
            continue
        if char == "]" and in_class:
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)


def _check(pattern: str) -> None:
    if any(construct in pattern for construct in _REFUSED):
        raise ValueError(f"lookaround cannot run in linear time; match and check instead: {pattern!r}")


def compile(pattern: str, *, ignore_case: bool = False) -> Pattern:
    """The pattern compiled by RE2 with Python's Unicode classes; lookaround is refused."""
    _check(pattern)
    options = re2.Options()
    options.case_sensitive = not ignore_case
    return Pattern(_translate(pattern), options)


def macro_rewrite(names: Collection[str], replacement: str, group: int = 1) -> Callable[[Match], str]:
    """A replacement for `\\\\([a-zA-Z]+)`-style patterns: rewrite only the macros named, keep the rest.

    `\\\\le(?![a-zA-Z])` in `re` is `\\\\([a-zA-Z]+)` here with the name checked: the whole name is `le`.
    A match whose group `group` did not take part is rewritten."""

    def rewrite(match: Match) -> str:
        name = match[group]
        return replacement if name is None or name in names else match[0]

    return rewrite
