"""Stage 1: word n-gram overlap between training rows and benchmark problems, via an inverted index."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from deepmath_ext.decontam.normalize import normalize_tokens, number_tokens, word_ngrams


@dataclass(frozen=True)
class NgramMatch:
    """A benchmark problem whose n-grams a training text contains."""

    reference: int  # position in the reference list the index was built from
    score: float  # share of the reference's distinct n-grams found in the training text, 0..1


class NgramIndex:
    """Inverted index from n-gram to the benchmark problems containing it.

    A problem shorter than `n` tokens has no n-grams; it matches a training text that contains its whole
    normalised token sequence, with score 1. A match also needs every number of the benchmark problem in
    the training text: templated problems ("Convert the point (0,3) to polar coordinates. Enter your
    answer in the form ...") share most n-grams with their siblings but differ in their numbers.
    """

    def __init__(self, references: Sequence[str], n: int = 13) -> None:
        if n < 1:
            raise ValueError(f"n-gram size must be at least 1, got {n}")
        self.n = n
        self._postings: dict[tuple[str, ...], list[int]] = {}
        self._gram_counts: list[int] = []
        self._numbers: list[Counter[str]] = []
        self._short: list[tuple[int, str]] = []  # (reference, " tokens ") for problems under n tokens
        for ref, text in enumerate(references):
            tokens = normalize_tokens(text)
            grams = word_ngrams(tokens, n)
            self._gram_counts.append(len(grams))
            self._numbers.append(Counter(number_tokens(tokens)))
            if not grams and tokens:
                self._short.append((ref, f" {' '.join(tokens)} "))
            for gram in grams:
                self._postings.setdefault(gram, []).append(ref)

    def _candidates(self, tokens: list[str]) -> list[tuple[float, int]]:
        shared: Counter[int] = Counter()
        for gram in word_ngrams(tokens, self.n):
            shared.update(self._postings.get(gram, ()))
        candidates = [(count / self._gram_counts[ref], ref) for ref, count in shared.items()]
        if self._short:
            padded = f" {' '.join(tokens)} "
            candidates.extend((1.0, ref) for ref, needle in self._short if needle in padded)
        return candidates

    def best_match(self, text: str, min_overlap: float = 0.0) -> NgramMatch | None:
        """The reference with the highest containment >= `min_overlap` whose numbers all occur in `text`.

        Ties go to the reference with more n-grams (a problem that contains another is the better match),
        then to the lowest position; None when no reference qualifies.
        """
        tokens = normalize_tokens(text)
        numbers: Counter[str] | None = None
        for score, ref in sorted(
            self._candidates(tokens), key=lambda c: (-c[0], -self._gram_counts[c[1]], c[1])
        ):
            if score < min_overlap:
                break
            numbers = numbers if numbers is not None else Counter(number_tokens(tokens))
            if self._numbers[ref] <= numbers:
                return NgramMatch(reference=ref, score=score)
        return None
