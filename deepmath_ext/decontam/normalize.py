"""Text normalisation for n-gram matching: the same problem typed differently gives the same tokens."""

from __future__ import annotations

import hashlib
import re

# LaTeX that changes how a problem looks but not what it says: spacing commands, sizing, display wrappers.
_LATEX_NOISE = re.compile(
    r"\\(?:left|right|bigg?|displaystyle|textstyle|limits|nolimits|quad|qquad)(?![a-z])"
    r"|\\[,;:! ]"
)
# Variants of one command that render the same symbol.
_LATEX_SYNONYMS = {
    "dfrac": "frac",
    "tfrac": "frac",
    "dbinom": "binom",
    "tbinom": "binom",
    "le": "leq",
    "ge": "geq",
    "ne": "neq",
    "textbf": "text",
    "mathrm": "text",
    "textrm": "text",
    "mbox": "text",
    "cdots": "dots",
    "ldots": "dots",
    "dotsb": "dots",
    "dotsc": "dots",
    "dotsm": "dots",
}
# Asymptote diagrams are long drawing code: as tokens they would outweigh the question's words, so two
# problems sharing a figure but asking different things would look alike. Each figure becomes one token
# naming its content instead.
_ASY_BLOCK = re.compile(r"\[asy\](.*?)\[/asy\]", re.DOTALL)
_ASY_BLOCK_ANY_CASE = re.compile(_ASY_BLOCK.pattern, re.DOTALL | re.IGNORECASE)
_HEX_TO_LETTERS = str.maketrans("0123456789", "ghijklmnop")
_NOT_EQUAL = re.compile(r"\\not\s*=")
_THOUSANDS = re.compile(r"(?<=\d)[,\u2009](?=\d{3}(?!\d))")
# A token is a word (LaTeX commands lose their backslash), a whole number, or a relation/operator symbol;
# every other character (braces, $, punctuation) separates tokens.
_TOKEN = re.compile(r"\\?[a-z]+|\d+(?:\.\d+)?|[=+\-*/^<>|!]")


def _figure_token(block: re.Match[str]) -> str:
    content = " ".join(normalize_tokens(block.group(1)))
    return " asy" + hashlib.sha1(content.encode()).hexdigest()[:12].translate(_HEX_TO_LETTERS) + " "


def normalize_tokens(text: str) -> list[str]:
    """Lower-cased word, number and operator tokens of `text`, with LaTeX spacing and markup removed."""
    text = _ASY_BLOCK.sub(_figure_token, text.lower())
    text = _LATEX_NOISE.sub(" ", text)
    text = _NOT_EQUAL.sub(r" \\neq ", text)
    text = _THOUSANDS.sub("", text)
    tokens = []
    for token in _TOKEN.findall(text):
        if token.startswith("\\"):
            token = _LATEX_SYNONYMS.get(token[1:], token[1:])
        tokens.append(token)
    return tokens


def normalize_text(text: str) -> str:
    """The normalised token sequence of `text` as one space-separated string."""
    return " ".join(normalize_tokens(text))


def word_ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    """The distinct n-grams of a token list (empty when it is shorter than `n`)."""
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def strip_figures(text: str) -> str:
    """`text` with each Asymptote figure replaced by "[figure]": drawing code carries no meaning for an
    embedding model and would fill its input window."""
    return _ASY_BLOCK_ANY_CASE.sub(" [figure] ", text)


def number_tokens(tokens: list[str]) -> list[str]:
    """The numeric tokens of a normalised token list, in order."""
    return [token for token in tokens if token[0].isdigit()]


def numbers_conflict(first: str, second: str) -> bool:
    """True when each text has a number the other lacks: the mark of a templated sibling ("5 balls in 3
    boxes" against "5 balls in 2 boxes") rather than a rewording, which keeps or drops numbers."""
    a = set(number_tokens(normalize_tokens(first)))
    b = set(number_tokens(normalize_tokens(second)))
    return bool(a - b) and bool(b - a)
