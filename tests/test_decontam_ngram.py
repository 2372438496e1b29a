"""Stage 1: normalisation and the n-gram index, on the real benchmarks."""

from __future__ import annotations

import random

import pytest
from decontam_support import all_benchmark_problems, known_duplicates, paraphrases, train_rows
from planting import noisy_variant

from deepmath_ext.decontam import NgramIndex, normalize_text, normalize_tokens
from deepmath_ext.decontam.normalize import number_tokens, numbers_conflict


@pytest.fixture(scope="module")
def problems(benchmarks_dir):
    return all_benchmark_problems(benchmarks_dir)


@pytest.fixture(scope="module")
def index(problems):
    return NgramIndex([p.problem for p in problems], n=13)


def test_normalisation_removes_case_spacing_and_latex_spacing():
    plain = r"Find $\frac{1}{2} + x^2$ when $x \le 10000$."
    noisy = "SOLVE:  find $\\left( \\dfrac{1}{2}\\right)\\, +\\ x^{2}$\n when $x\\leq 10,000$ ..."
    assert normalize_text(noisy) == "solve " + normalize_text(plain)
    assert normalize_text(plain) == "find frac 1 2 + x ^ 2 when x leq 10000"


def test_a_figure_is_one_token_named_by_its_content():
    first = "Find x. [asy]draw((0,0)--(1,1));[/asy]"
    assert normalize_text(first) == normalize_text("Find  x. [asy] draw( (0,0) -- (1,1) ); [/asy]")
    assert normalize_text(first) != normalize_text("Find x. [asy]draw((0,0)--(2,1));[/asy]")
    assert len(normalize_text(first).split()) == 3


def test_every_benchmark_problem_verbatim_and_noisy_is_found(problems, index):
    rng = random.Random(7)
    for position, problem in enumerate(problems):
        for text in (problem.problem, noisy_variant(problem.problem, rng)):
            match = index.best_match(text, min_overlap=0.8)
            assert match is not None, f"{problem.benchmark}:{problem.id} not found in {text[:80]!r}"
            # Exact duplicates inside the benchmarks resolve to the first copy.
            assert normalize_text(problems[match.reference].problem) == normalize_text(problem.problem) or (
                match.reference == position
            )


def test_benchmark_problem_inside_a_longer_row_is_found(problems, index):
    problem = problems[520]
    row = f"Here is a warm-up before the real task. {problem.problem} Show all of your work."
    match = index.best_match(row, min_overlap=0.8)
    assert match is not None and match.reference == 520 and match.score == 1.0


def test_templated_sibling_with_other_numbers_is_not_flagged(problems, index):
    # MATH train holds many problems that reuse a test problem's wording with other numbers.
    target = next(i for i, p in enumerate(problems) if p.problem.startswith("Convert the point $(0,3)$"))
    sibling = problems[target].problem.replace("(0,3)", "(1,-\\sqrt{3})")
    assert index.best_match(sibling, min_overlap=0.0) is None or index.best_match(sibling).reference != target


def test_short_problem_matches_only_its_whole_token_sequence():
    index = NgramIndex(["Compute $\\dbinom{31}{28}$.", "A much longer problem " * 5], n=13)
    assert index.best_match("Please compute $\\binom{31}{28}$ now.").reference == 0
    assert index.best_match("Compute $\\dbinom{31}{29}$.") is None


def test_unrelated_text_has_no_match(index):
    assert index.best_match("Describe the life cycle of a butterfly in three sentences.") is None


def test_bad_ngram_size_is_rejected():
    with pytest.raises(ValueError, match="at least 1"):
        NgramIndex(["x"], n=0)


def test_hand_written_paraphrases_resolve_and_pass_under_the_ngram_threshold(problems, index):
    pairs = paraphrases(problems)
    assert len(pairs) >= 20
    assert len({ref for ref, _ in pairs}) == len(pairs)
    assert all(index.best_match(text, min_overlap=0.8) is None for _, text in pairs)


def test_known_duplicates_in_the_shared_samples_are_real_rows(problems, data_root):
    by_id = {(p.benchmark, p.id): p for p in problems}
    for (file, row), key in known_duplicates().items():
        question = train_rows(data_root, file, row + 1)[row]["question"]
        reference = by_id[key].problem
        # The same problem: every number the benchmark gives also appears in the training row.
        assert set(number_tokens(normalize_tokens(reference))) <= set(
            number_tokens(normalize_tokens(question))
        )


def test_numbers_conflict_marks_templated_siblings_not_rewordings():
    bench = "How many ways are there to put 5 balls in 2 boxes if the balls are not distinguishable?"
    assert numbers_conflict("How many ways are there to put 5 balls in 3 boxes?", bench)
    assert not numbers_conflict("Count the ways to place five balls into 2 identical boxes.", bench)
    assert not numbers_conflict("Put 5 balls in 2 boxes; balls and boxes alike. How many ways?", bench)
