"""Run the decontamination stages over training questions and decide which rows to remove."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from deepmath_ext.data import BenchmarkProblem
from deepmath_ext.decontam.judge import JudgeConfig, judge_pairs
from deepmath_ext.decontam.ngram import NgramIndex
from deepmath_ext.decontam.normalize import numbers_conflict, strip_figures

logger = logging.getLogger(__name__)

STAGES = ("ngram", "embed", "judge")


@dataclass(frozen=True)
class DecontamConfig:
    """Which stages run and their thresholds."""

    stages: tuple[str, ...] = ("ngram", "embed")
    ngram_size: int = 13
    ngram_overlap: float = 0.8  # share of a benchmark problem's n-grams that must appear in the row
    embed_model: str | None = None  # local sentence-transformers path; None: the packaged all-MiniLM-L6-v2
    # Cosine at or above which a neighbour is flagged (sent to the judge when it runs). 0.85 is where the
    # planted-contamination benchmark keeps false positives under 0.5% (benchmarks/decontam_bench.py).
    threshold: float = 0.85
    top_k: int = 5
    skip_number_conflicts: bool = True  # drop neighbours whose numbers conflict with the row's
    embed_batch_size: int = 128
    judge: JudgeConfig | None = None

    def __post_init__(self) -> None:
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown or not self.stages:
            raise ValueError(f"unknown or no stages {unknown}; choose from {', '.join(STAGES)}")
        if "judge" in self.stages and ("embed" not in self.stages or self.judge is None):
            raise ValueError("the judge stage needs the embed stage and a judge endpoint and model")
        if not 0 < self.ngram_overlap <= 1:
            raise ValueError(f"ngram overlap must be in (0, 1], got {self.ngram_overlap}")


@dataclass(frozen=True)
class Hit:
    """One training row flagged by one stage against one benchmark problem."""

    index: int  # 0-based training row
    reference: int  # position in the reference list
    stage: str
    score: float  # n-gram containment, or cosine similarity (judge hits keep the cosine of their pair)
    judge_answers: tuple[str, str] | None = None


@dataclass
class DecontamResult:
    """Every stage's hits, and which rows are removed (by their first deciding hit)."""

    rows: int
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    removed: dict[int, Hit] = field(default_factory=dict)
    judge_candidates: int = 0
    embed_model: str | None = None


def ngram_hits(
    questions: Sequence[str], references: Sequence[BenchmarkProblem], config: DecontamConfig
) -> list[Hit]:
    """Rows sharing at least `ngram_overlap` of some benchmark problem's n-grams."""
    index = NgramIndex([p.problem for p in references], n=config.ngram_size)
    hits = []
    for row, question in enumerate(tqdm(questions, desc="ngram", unit="row", file=sys.stderr)):
        match = index.best_match(question, config.ngram_overlap)
        if match is not None:
            hits.append(Hit(row, match.reference, "ngram", match.score))
    return hits


def embed_candidates(
    questions: Sequence[str], references: Sequence[BenchmarkProblem], config: DecontamConfig
) -> tuple[list[list[Hit]], str]:
    """Per row, the top-k neighbours at or above the cosine threshold (best first); and the model used."""
    from deepmath_ext.decontam.embed import (
        cosine_top_k,
        encode,
        encode_cached,
        load_encoder,
        model_key,
        model_label,
    )

    encoder = load_encoder(config.embed_model)
    bench_texts = [strip_figures(p.problem) for p in references]
    # The benchmarks are the same on every run: their embeddings are cached by model and content.
    key = model_key(config.embed_model)
    bench = encode_cached(encoder, bench_texts, config.embed_batch_size, key, desc="embed benchmarks")
    train = encode(
        encoder, [strip_figures(q) for q in questions], config.embed_batch_size, desc="embed training rows"
    )
    neighbours = cosine_top_k(train, bench, config.top_k)
    candidates = []
    for row, (refs, scores) in enumerate(zip(neighbours.indices, neighbours.scores, strict=True)):
        above = scores >= config.threshold
        hits = [Hit(row, int(r), "embed", float(s)) for r, s in zip(refs[above], scores[above], strict=True)]
        if config.skip_number_conflicts:
            hits = [h for h in hits if not numbers_conflict(questions[row], references[h.reference].problem)]
        candidates.append(hits)
    return candidates, model_label(config.embed_model)


def judge_hits(
    questions: Sequence[str],
    references: Sequence[BenchmarkProblem],
    candidates: Sequence[Hit],
    judge: JudgeConfig,
) -> list[Hit]:
    """Per row, the best-cosine candidate the judge calls the same problem (every reply is a verdict)."""
    pairs = [(questions[c.index], references[c.reference].problem) for c in candidates]
    verdicts = judge_pairs(judge, pairs)
    confirmed: dict[int, Hit] = {}
    for candidate, verdict in zip(candidates, verdicts, strict=True):
        if verdict.same and candidate.index not in confirmed:
            confirmed[candidate.index] = Hit(
                candidate.index, candidate.reference, "judge", candidate.score, verdict.answers
            )
    return sorted(confirmed.values(), key=lambda h: h.index)


def decontaminate(
    questions: Sequence[str], references: Sequence[BenchmarkProblem], config: DecontamConfig
) -> DecontamResult:
    """Run the configured stages in order; a row is removed by its first deciding hit."""
    result = DecontamResult(rows=len(questions))
    if "ngram" in config.stages:
        result.hits["ngram"] = ngram_hits(questions, references, config)
        _remove(result, result.hits["ngram"])
    if "embed" in config.stages:
        per_row, result.embed_model = embed_candidates(questions, references, config)
        result.hits["embed"] = [row_hits[0] for row_hits in per_row if row_hits]
        if "judge" not in config.stages:
            _remove(result, result.hits["embed"])
        else:
            # Rows the n-gram stage already removed need no LLM calls.
            pending = [hit for row_hits in per_row for hit in row_hits if hit.index not in result.removed]
            result.judge_candidates = len(pending)
            result.hits["judge"] = judge_hits(questions, references, pending, config.judge)
            _remove(result, result.hits["judge"])
    logger.info("decontamination removed %d of %d rows", len(result.removed), result.rows)
    return result


def _remove(result: DecontamResult, hits: Sequence[Hit]) -> None:
    for hit in hits:
        result.removed.setdefault(hit.index, hit)
