"""Planted contamination: hide known benchmark problems in training rows and measure what each stage finds."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from deepmath_ext.data import BenchmarkProblem
from deepmath_ext.decontam.pipeline import DecontamResult

PREFIXES = ("Solve: ", "Problem: ", "Question 7. ", "Answer the following question. ", "Exercise: ")


def _respace(text: str, rng: random.Random) -> str:
    return re.sub(r" ", lambda _: rng.choice((" ", "  ", "\n", " \t ")), text)


def _recase(text: str, rng: random.Random) -> str:
    return rng.choice((str.lower, str.upper, str.title))(text)


def _latex_spacing(text: str, rng: random.Random) -> str:
    text = re.sub(r"\^(\w)", r"^{\1}", text)
    text = text.replace("\\frac", rng.choice(("\\dfrac", "\\tfrac", "\\frac")))
    text = re.sub(r"\s*=\s*", rng.choice((" = ", "\\,=\\,", "=")), text)
    return re.sub(
        r"\$([^$]+)\$",
        lambda m: f"$\\left.{m.group(1)}\\right.$" if rng.random() < 0.3 else f"$ {m.group(1)} $",
        text,
    )


# Formatting noise that leaves the problem itself unchanged; a noisy plant gets a prefix and two of these.
NOISE: dict[str, Callable[[str, random.Random], str]] = {
    "whitespace": _respace,
    "case": _recase,
    "latex_spacing": _latex_spacing,
}


def noisy_variant(text: str, rng: random.Random) -> str:
    """`text` with a prefix like "Solve:" and two kinds of formatting noise."""
    for name in sorted(rng.sample(sorted(NOISE), 2)):
        text = NOISE[name](text, rng)
    return rng.choice(PREFIXES) + text


@dataclass(frozen=True)
class Plant:
    """One planted row: where it sits in the training list, what kind it is, and which problem it copies."""

    index: int
    kind: str  # verbatim, noisy or paraphrase
    reference: int  # position of the copied problem in the reference list


def plant_rows(
    train_rows: Sequence[dict[str, Any]],
    references: Sequence[BenchmarkProblem],
    paraphrases: Sequence[tuple[int, str]],
    per_kind: int,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], list[Plant]]:
    """Insert `per_kind` verbatim and noisy copies of benchmark problems and the given (reference, text)
    paraphrases at seeded random positions; returns the new rows and the plants."""
    rng = random.Random(seed)
    chosen = rng.sample(range(len(references)), 2 * per_kind)
    planted = [("verbatim", ref, references[ref].problem) for ref in chosen[:per_kind]]
    planted += [("noisy", ref, noisy_variant(references[ref].problem, rng)) for ref in chosen[per_kind:]]
    planted += [("paraphrase", ref, text) for ref, text in paraphrases]
    rows: list[dict[str, Any] | tuple[str, int, str]] = list(train_rows)
    for item in planted:
        rows.insert(rng.randrange(len(rows) + 1), item)
    out_rows, plants = [], []
    for index, row in enumerate(rows):
        if isinstance(row, tuple):
            kind, ref, text = row
            plants.append(Plant(index, kind, ref))
            row = {"question": text, "final_answer": references[ref].answer}
        out_rows.append(row)
    return out_rows, plants


def score_plants(
    result: DecontamResult, plants: Sequence[Plant], known_duplicates: set[int]
) -> dict[str, Any]:
    """Recall per plant kind and stage (the right problem found), and false positives on unplanted rows.

    `known_duplicates` are unplanted rows checked by hand to be real copies of a benchmark problem; they
    are reported apart instead of as false positives.
    """
    planted = {p.index: p for p in plants}
    kinds = sorted({p.kind for p in plants})
    recall: dict[str, dict[str, float]] = {kind: {} for kind in kinds}
    false_positives: dict[str, int] = {}
    for stage, hits in result.hits.items():
        caught = {h.index for h in hits if h.index in planted and h.reference == planted[h.index].reference}
        for kind in kinds:
            of_kind = [p.index for p in plants if p.kind == kind]
            recall[kind][stage] = sum(i in caught for i in of_kind) / len(of_kind)
        false_positives[stage] = sum(h.index not in planted and h.index not in known_duplicates for h in hits)
    unplanted = result.rows - len(plants)
    return {
        "plants": {kind: sum(p.kind == kind for p in plants) for kind in kinds},
        "recall": recall,
        "unplanted_rows": unplanted,
        "false_positives": false_positives,
        "false_positive_rate": {stage: n / unplanted for stage, n in false_positives.items()},
        "known_duplicates_found": {
            stage: sum(h.index in known_duplicates for h in hits) for stage, hits in result.hits.items()
        },
    }
