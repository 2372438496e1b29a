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

# Python's `\s` on str is `str.isspace` (pinned by a test); `\d` is Unicode category Nd; `\w` is
# str.isalnum() or "_" (letters and numbers). (outside a class, inside a class) for each.
_SPACE_CLASS = (
    r"\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
_UNICODE_ESCAPES = (
    {"d": r"\p{Nd}", "s": f"[{_SPACE_CLASS}]", "S": f"[^{_SPACE_CLASS}]", "w": r"[\pL\pN_]"},
    {"d": r"\p{Nd}", "s": _SPACE_CLASS, "w": r"\pL\pN_"},
)
# The same classes on ASCII text (most answers): the same matches there, and RE2 compiles the verifier's
# patterns 4x faster with them (`[0-9A-Za-z_]` about 100x faster than `[\pL\pN_]`).
_ASCII_SPACE_CLASS = r"\x{9}-\x{d}\x{1c}-\x{20}"
_ASCII_ESCAPES = (
    {"d": "[0-9]", "s": f"[{_ASCII_SPACE_CLASS}]", "S": f"[^{_ASCII_SPACE_CLASS}]", "w": "[0-9A-Za-z_]"},
    {"d": "0-9", "s": _ASCII_SPACE_CLASS, "w": "0-9A-Za-z_"},
)
_REFUSED = ("(?=", "(?!", "(?<=", "(?<!")

Match = re2._Match
Replacement = str | Callable[[Match], str]
_ANCHOR = re2._Anchor
_NULL_SPAN = re2._NULL_SPAN


class Pattern:
    """An RE2 pattern with `re`'s methods, compiled at its first use.

    Each pattern has two RE2 programs, compiled when first needed: one for ASCII text (most answers), where
    Python's classes are small ASCII sets and byte offsets are character offsets, and one with the Unicode
    classes for other text, matched through google-re2's own `_Regexp` (tested: google-re2 1.1.20251105).
    A cold process so compiles only the small programs of the patterns it runs (RE2 takes up to 1.5 ms for
    one with `\\w`). A replacement string without backslashes is taken literally.
    """

    __slots__ = (
        "_ascii",
        "_ascii_source",
        "_options",
        "_unicode",
        "groupindex",
        "groups",
        "pattern",
    )

    def __init__(self, pattern: str, ignore_case: bool = False) -> None:
        _check(pattern)
        self.pattern = pattern  # as written, in Python's dialect
        # Translated now, so that what RE2 cannot read is refused at import (both spellings refuse the same).
        self._ascii_source = _translate(pattern, _ASCII_ESCAPES)
        self._options = re2.Options()
        self._options.case_sensitive = not ignore_case
        self._ascii = self._unicode = None

    def _ascii_program(self) -> object:
        """The compiled program for ASCII text (a race compiles it twice, harmlessly)."""
        if self._ascii is None:
            program = re2._Regexp(self._ascii_source, self._options)
            self.groups, self.groupindex = program.groups, program.groupindex
            self._ascii = program._regexp
        return self._ascii

    def _unicode_program(self) -> re2._Regexp:
        """google-re2's pattern object with the Unicode classes, for text that is not ASCII."""
        if self._unicode is None:
            program = re2._Regexp(self._unicode_source(), self._options)
            self.groups, self.groupindex = program.groups, program.groupindex
            self._unicode = program
        return self._unicode

    def _unicode_source(self) -> str:
        return _translate(self.pattern, _UNICODE_ESCAPES)

    def __getattr__(self, name: str) -> object:
        # `groups` and `groupindex` are set by the first compile; reading one before that compiles.
        if name not in ("groups", "groupindex"):
            raise AttributeError(name)
        self._ascii_program()
        return object.__getattribute__(self, name)

    def _matches(
        self, anchor: object, text: str, pos: int | None = None, endpos: int | None = None
    ) -> Iterator[Match]:
        """Successive matches, as google-re2's `_Regexp._match`."""
        if not text.isascii():
            yield from self._unicode_program()._match(anchor, text, pos, endpos)
            return
        program, encoded = self._ascii or self._ascii_program(), text.encode("ascii")
        pos = 0 if pos is None else max(0, min(pos, len(text)))
        endpos = len(text) if endpos is None else max(0, min(endpos, len(text)))
        while pos <= endpos:
            spans = program.Match(anchor, encoded, pos, endpos)
            if spans[0] == _NULL_SPAN:
                return
            yield Match(self, text, pos, endpos, spans)
            if pos == endpos:
                return
            pos = pos + 1 if pos == spans[0][1] else spans[0][1]

    def _first(self, anchor: object, text: str, pos: int | None, endpos: int | None) -> Match | None:
        if pos is None and endpos is None and text.isascii():  # the common call, without a generator
            spans = (self._ascii or self._ascii_program()).Match(anchor, text.encode("ascii"), 0, len(text))
            return None if spans[0] == _NULL_SPAN else Match(self, text, 0, len(text), spans)
        return next(self._matches(anchor, text, pos, endpos), None)

    def search(self, text: str, pos: int | None = None, endpos: int | None = None) -> Match | None:
        """As `re.Pattern.search`."""
        return self._first(_ANCHOR.UNANCHORED, text, pos, endpos)

    def match(self, text: str, pos: int | None = None, endpos: int | None = None) -> Match | None:
        """As `re.Pattern.match`."""
        return self._first(_ANCHOR.ANCHOR_START, text, pos, endpos)

    def fullmatch(self, text: str, pos: int | None = None, endpos: int | None = None) -> Match | None:
        """As `re.Pattern.fullmatch`."""
        return self._first(_ANCHOR.ANCHOR_BOTH, text, pos, endpos)

    def finditer(self, text: str, pos: int | None = None, endpos: int | None = None) -> Iterator[Match]:
        """As `re.Pattern.finditer`."""
        return self._matches(_ANCHOR.UNANCHORED, text, pos, endpos)

    def findall(self, text: str, pos: int | None = None, endpos: int | None = None) -> list:
        """As `re.Pattern.findall`: whole matches, the one group, or tuples of groups."""
        matches = self.finditer(text, pos, endpos)
        if self.groups == 0:
            return [match[0] for match in matches]
        if self.groups == 1:
            return [match.groups(default="")[0] for match in matches]
        return [match.groups(default="") for match in matches]

    def split(self, text: str, maxsplit: int = 0) -> list[str]:
        """As `re.Pattern.split`: the pieces, with the groups of each separator between them."""
        pieces, end = [], 0
        for done, match in enumerate(self.finditer(text), start=1):
            pieces.append(text[end : match.start()])
            pieces.extend(match[group] for group in range(1, self.groups + 1))
            end = match.end()
            if done == maxsplit:
                break
        pieces.append(text[end:])
        return pieces

    def subn(self, repl: Replacement, text: str, count: int = 0) -> tuple[str, int]:
        """As `re.Pattern.subn`. (re2 unescapes templates through latin-1, which garbles other characters.)"""
        if isinstance(repl, str) and "\\" not in repl:
            literal = repl
            repl = lambda match: literal  # noqa: E731
        elif isinstance(repl, str):
            if not repl.isascii():
                raise ValueError(f"a replacement template with group references must be ASCII: {repl!r}")
            template = repl
            repl = lambda match: match.expand(template)  # noqa: E731
        pieces, end, done = [], 0, 0
        for match in self.finditer(text):
            pieces += (text[end : match.start()], repl(match))
            end, done = match.end(), done + 1
            if done == count:
                break
        if not done:
            return text, 0
        pieces.append(text[end:])
        return "".join(pieces), done

    def sub(self, repl: Replacement, text: str, count: int = 0) -> str:
        """As `re.Pattern.sub`."""
        return self.subn(repl, text, count)[0]


class PatternSet:
    """Which of several patterns occur somewhere in a text, found in one linear pass (RE2::Set).

    As `Pattern`, a set for ASCII text and one with the Unicode classes, each compiled at first use."""

    def __init__(self, patterns: list[str]) -> None:
        self._patterns = [Pattern(pattern) for pattern in patterns]  # each refuses what RE2 cannot read
        self._sets: dict[bool, object] = {}

    def _set(self, ascii: bool) -> object:
        """The set for ASCII text, or the one with the Unicode classes; compiled at first use."""
        if ascii not in self._sets:
            compiled = re2.Set.SearchSet()
            for pattern in self._patterns:
                compiled.Add(pattern._ascii_source if ascii else pattern._unicode_source())
            compiled.Compile()
            self._sets[ascii] = compiled
        return self._sets[ascii]

    def matching(self, text: str) -> list[int]:
        """Indices of the patterns that match somewhere in the text, in increasing order."""
        return sorted(self._set(text.isascii()).Match(text) or ())


# A macro name as a group: with `macro_rewrite`, what `\\name(?![a-zA-Z])` is in `re`.
MACRO = r"\\([a-zA-Z]+)"


def _translate(pattern: str, escapes: tuple[dict[str, str], dict[str, str]]) -> str:
    """The RE2 spelling of a Python pattern: `\\d \\s \\S \\w` as `escapes` spell them, and `\\uXXXX`."""
    (outside, inside), out, index, in_class = escapes, [], 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escape = pattern[index + 1]
            table = inside if in_class else outside
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
    """The pattern for RE2 with Python's Unicode classes, compiled at first use; lookaround is refused."""
    return Pattern(pattern, ignore_case)


def macro_rewrite(names: Collection[str], replacement: str, group: int = 1) -> Callable[[Match], str]:
    """A replacement for `\\\\([a-zA-Z]+)`-style patterns: rewrite only the macros named, keep the rest.

    `\\\\le(?![a-zA-Z])` in `re` is `\\\\([a-zA-Z]+)` here with the name checked: the whole name is `le`.
    A match whose group `group` did not take part is rewritten."""

    def rewrite(match: Match) -> str:
        name = match[group]
        return replacement if name is None or name in names else match[0]

    return rewrite
