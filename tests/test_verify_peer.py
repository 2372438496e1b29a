"""Agreement with Math-Verify's own regression cases and with Qwen2.5-Math's rule labels."""

from __future__ import annotations

from collections import Counter

import pytest
from verify_support import bare_answer

from deepmath_ext.files import read_jsonl
from deepmath_ext.verify import VerifierPool

# 197 of 211 since VERIFIER_VERSION 3: every disagreement is a deliberate deviation listed below.
MIN_PEER_AGREEMENT = 0.93
MIN_QWEN_AGREEMENT = 0.97

# Every case where we deliberately grade differently from Math-Verify's expectation, and why (reviewed
# one by one: docs/verifier.md, "Agreement with labels", has the table). Keyed by (test_function,
# case_index) in math_verify_test_cases.jsonl.
PEER_DEVIATIONS = {
    ("test_complex_math_expressions", 7): "0.33 is not 1/3: a decimal is the exact value written "
    "(math-verify rounds to 2 decimals here)",
    ("test_complex_math_expressions", 13): "2.6667 is not 8/3, same rule: no rounding tolerance",
    (
        "test_math_extraction_additional_cases",
        17,
    ): "the response boxes two intermediate results (200, 255) and "
    "gives 10,455 only in prose: several distinct boxes are hedging; no 'Final Answer:' fallback",
    ("test_open_thoughts", 28): "the gold boxes 1 and 2 with words between; read as a boxed-answer gold "
    "that is the list 1, 2, which the prediction 1,2 matches (math-verify keeps only one of the boxes)",
    ("test_string_extraction", 9): "1+1/e is not 1-1/e (the Math-Verify file expects them equal)",
    (
        "test_number_extraction",
        6,
    ): "a gold with a comma (1,22) is a list; only an answer may use a decimal comma",
    (
        "test_relations_math",
        10,
    ): "x = 5+5+1 = 7 = 11 states 7 = 11: an answer whose equations are false is wrong",
    ("test_relations_math", 12): "the same false chain, x = 5+5+1 = 7 = 11",
    ("test_relations_math", 13): "x = 5+5+1 = 1/3 states 11 = 1/3: a false equation",
    ("test_relations_math", 26): "z = 3+3 = 2 states 6 = 2: a false equation",
    ("test_relations_math", 27): "z = 3+3 = 2 states 6 = 2: a false equation",
    ("test_number_extraction", 17): "a gold with a comma (0,111) is a list, not the decimal 0.111",
    (
        "test_complex_math_expressions",
        0,
    ): "0.0833333333333333 is not 1/12: a decimal is the exact value written",
    ("test_math_extraction_additional_cases", 7): "{1,3} (a set, or in plain TeX the bare list 1,3) is not "
    "the interval or ordered pair (1,3): a set or list never answers a tuple or interval",
}


def applicable_cases(data_root):
    """Cases in the default strict mode whose gold and prediction a boxed-answer grader can read."""
    for row in read_jsonl(data_root / "verifier_eval" / "math_verify_test_cases.jsonl"):
        if row.get("strict") is False or row.get("allow_set_relation_comp"):
            continue  # non-default comparison modes we do not offer
        gold = bare_answer(row["gold"])
        if gold is None or ("\\boxed" not in row["pred"] and bare_answer(row["pred"]) is None):
            continue  # prose without a box: an answer-in-text extractor's job, not ours
        yield row, gold


@pytest.fixture(scope="module")
def pool():
    # Agreement, not speed, is measured here: a deadline no loaded machine reaches on this suite.
    with VerifierPool(workers=2, timeout_s=60.0) as verifier:
        yield verifier


def test_math_verify_suite_agreement(data_root, pool):
    cases = list(applicable_cases(data_root))
    futures = [
        pool.submit(row["pred"], gold, require_think=False)
        if "\\boxed" in row["pred"]
        else pool.submit_answer(bare_answer(row["pred"]), gold)
        for row, gold in cases
    ]
    disagreements = {
        (row["test_function"], row["case_index"]): future.result()
        for (row, _), future in zip(cases, futures, strict=True)
        if future.result().correct != bool(row["expected"])
    }
    assert len(cases) >= 200, "the applicability filter dropped too much of the suite"
    assert set(disagreements) == set(PEER_DEVIATIONS), disagreements
    assert 1 - len(disagreements) / len(cases) >= MIN_PEER_AGREEMENT


def qwen_rows(data_root):
    """(response, gold, qwen_label) for each of the 100 problems x 8 responses."""
    rows = read_jsonl(data_root / "verifier_eval" / "qwen25math_math_cot_100_rule_scored.jsonl")
    assert len(rows) == 100 and all(len(r["code"]) == len(r["score"]) == 8 for r in rows)
    return [
        (text, row["answer"], label)
        for row in rows
        for text, label in zip(row["code"], row["score"], strict=True)
    ]


# The Qwen labels are not ground truth. Our disagreements, inspected by hand, fall in these groups:
# - gold "\text{4:30 p.m.}", answer "4:30 \text{ p.m.}": Qwen's extractor drops "p.m." and fails; we accept.
# - gold "10{,}000", answer "10000": Qwen fails on the "{,}" separator; we accept.
QWEN_ACCEPTED_BUT_LABELLED_WRONG = {r"\text{4:30 p.m.}", "10{,}000"}


def test_qwen_responses_agreement(data_root, pool):
    rows = qwen_rows(data_root)
    grades = pool.grade_batch([r[0] for r in rows], [r[1] for r in rows], require_think=False)
    pairs = Counter((grade.correct, label) for grade, (_, _, label) in zip(grades, rows, strict=True))
    agreement = (pairs[True, True] + pairs[False, False]) / len(rows)
    print(f"Qwen2.5-Math rule labels: agreement {agreement:.1%} on {len(rows)} responses; {dict(pairs)}")
    assert len(rows) == 800
    assert agreement >= MIN_QWEN_AGREEMENT
    accepted_against_label = {
        gold for grade, (_, gold, label) in zip(grades, rows, strict=True) if grade.correct and not label
    }
    assert accepted_against_label <= QWEN_ACCEPTED_BUT_LABELLED_WRONG
