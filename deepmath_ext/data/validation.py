"""Row checks for problem/answer data: defects, duplicate questions and answers leaked into questions."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# Characters that do not change which problem a question is: whitespace and TeX math delimiters.
_INSIGNIFICANT = re.compile(r"[\s$]+")
# A number answer like "13" occurs by chance in many questions, so a leak needs an answer-like context:
# the answer boxed, after the word "answer", or closing the question (answers of 2+ characters; "x=0."
# often ends a question). Longer non-numeric answers (expressions) count anywhere as a whole token.
# Each pattern gets the escaped answer as {a}; the number is the shortest answer it applies to.
_TOKEN = r"(?<![\w.\-]){a}(?![\w]|\.\d)"
LEAK_CONTEXTS: tuple[tuple[str, int], ...] = (
    (r"\\boxed\s*\{\s*{a}\s*\}", 1),
    (r"answer\W{0,20}" + _TOKEN, 1),
    (_TOKEN + r"[\s$.)\]]*$", 2),
)
MIN_EXPRESSION_LEAK_CHARS = 6
_NUMBER = re.compile(r"[-+]?\d[\d,]*(\.\d+)?")


class DataValidationError(ValueError):
    """Invalid rows were found and strict validation was asked for."""


@dataclass
class SplitReport:
    """What happened to every row of one output split: written, or dropped/flagged by reason with ids.

    Each row read is written or dropped once (`read == written + sum(dropped_counts)`); a defective row is
    dropped under its first defect, and `defects` lists every defect of every such row.
    """

    source: str
    read: int = 0
    written: int = 0
    dropped: dict[str, list[str]] = field(default_factory=dict)
    flagged: dict[str, list[str]] = field(default_factory=dict)
    defects: dict[str, list[str]] = field(default_factory=dict)

    def drop(self, reason: str, row_id: str) -> None:
        """Record that row `row_id` was left out for `reason`."""
        self.dropped.setdefault(reason, []).append(row_id)

    def flag(self, reason: str, row_id: str) -> None:
        """Record that row `row_id` was kept but looks suspicious for `reason`."""
        self.flagged.setdefault(reason, []).append(row_id)

    @property
    def dropped_counts(self) -> dict[str, int]:
        """Number of dropped rows per reason."""
        return {reason: len(ids) for reason, ids in sorted(self.dropped.items())}

    @property
    def invalid_rows(self) -> int:
        """Rows dropped for a defect of their own (missing, empty or wrong-typed fields)."""
        return len({row_id for ids in self.defects.values() for row_id in ids})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary with counts and the ids behind them."""
        return {
            "source": self.source,
            "read": self.read,
            "written": self.written,
            "dropped_counts": self.dropped_counts,
            "flagged_counts": {reason: len(ids) for reason, ids in sorted(self.flagged.items())},
            "dropped": self.dropped,
            "flagged": self.flagged,
            "invalid_rows": self.invalid_rows,
            "defects": self.defects,
        }


# Required fields must be non-empty strings (None is "missing_"); optional ones may be None or, when set,
# must have one of the listed Python types.
REQUIRED_TEXT_FIELDS = ("question", "final_answer")
OPTIONAL_FIELD_TYPES: dict[str, tuple[type, ...]] = {"difficulty": (int, float), "topic": (str,)}


def row_defects(row: dict[str, Any]) -> list[str]:
    """Defect reasons of a DeepMath-shaped row: missing/empty/wrong-typed question or answer, bad types."""
    defects = []
    for name in REQUIRED_TEXT_FIELDS:
        value = row.get(name)
        if value is None:
            defects.append(f"missing_{name}")
        elif not isinstance(value, str):
            defects.append(f"wrong_type_{name}")
        elif not value.strip():
            defects.append(f"empty_{name}")
    for name, types in OPTIONAL_FIELD_TYPES.items():
        value = row.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            defects.append(f"wrong_type_{name}")
        elif isinstance(value, float) and not math.isfinite(value):  # NaN compares false with any bound
            defects.append(f"nonfinite_{name}")
    return defects


def drop_defective(row: dict[str, Any], row_id: str, report: SplitReport) -> bool:
    """Drop a defective row once (under its first defect) and list all its defects; True when it has any."""
    defects = row_defects(row)
    for defect in defects:
        report.defects.setdefault(defect, []).append(row_id)
    if defects:
        report.drop(defects[0], row_id)
    return bool(defects)


def normalise_question(text: str) -> str:
    """The question with case, Unicode forms, whitespace and `$` delimiters made irrelevant."""
    return _INSIGNIFICANT.sub("", unicodedata.normalize("NFKC", text)).lower().rstrip(".")


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()


class QuestionDeduplicator:
    """Remembers 12-byte digests of questions seen, so memory stays small on 100K+ rows."""

    def __init__(self) -> None:
        self._exact: set[bytes] = set()
        self._normalised: set[bytes] = set()

    def duplicate_kind(self, question: str) -> str | None:
        """'duplicate_exact', 'duplicate_normalised', or None for a new question (then remembered)."""
        exact, normalised = _digest(question), _digest(normalise_question(question))
        if exact in self._exact:
            return "duplicate_exact"
        if normalised in self._normalised:
            return "duplicate_normalised"
        self._exact.add(exact)
        self._normalised.add(normalised)
        return None


def answer_in_question(question: str, answer: str) -> bool:
    """True when the gold answer appears in its own question the way leaked copies show it."""
    answer = answer.strip().strip("$").strip()
    if not answer or answer not in question:
        return False
    escaped = re.escape(answer)
    if len(answer) >= MIN_EXPRESSION_LEAK_CHARS and not _NUMBER.fullmatch(answer):
        return re.search(_TOKEN.replace("{a}", escaped), question) is not None
    return any(
        re.search(pattern.replace("{a}", escaped), question, re.IGNORECASE)
        for pattern, min_chars in LEAK_CONTEXTS
        if len(answer) >= min_chars
    )
