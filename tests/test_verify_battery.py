"""The hand-labelled adversarial battery (tests/fixtures/verifier_battery.tsv), one case per row."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from deepmath_ext.verify import Grade, GradeStatus, VerifierPool

BATTERY_PATH = Path(__file__).parent / "fixtures" / "verifier_battery.tsv"
MIN_CASES = 300


class Case(NamedTuple):
    """One labelled case: a bare answer, or a whole response when it holds a box."""

    kind: str
    correct: bool
    pred: str
    gold: str
    status: GradeStatus | None

    @property
    def is_response(self) -> bool:
        return "\\boxed" in self.pred or "\\fbox" in self.pred or self.kind == "extract"


def load_battery(path: Path = BATTERY_PATH) -> list[Case]:
    """Every case of the battery; a malformed row is an error naming its line."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) not in (4, 5) or fields[1] not in ("T", "F"):
            raise ValueError(f"{path}:{number}: expected class, T|F, pred, gold[, status]; got {fields!r}")
        status = GradeStatus(fields[4]) if len(fields) == 5 else None
        cases.append(Case(fields[0], fields[1] == "T", fields[2], fields[3], status))
    return cases


def grade_case(pool: VerifierPool, case: Case) -> Grade:
    """The grade of one case: responses are graded whole (no thinking template), answers as extracted."""
    if case.is_response:
        return pool.submit(case.pred, case.gold, require_think=False).result()
    return pool.submit_answer(case.pred, case.gold).result()


CASES = load_battery()


@pytest.fixture(scope="module")
def pool():
    # Labels, not speed, are checked here: a deadline that no loaded machine reaches on these cases.
    with VerifierPool(workers=2, timeout_s=60.0) as verifier:
        yield verifier


def test_battery_is_large_and_covers_every_class():
    assert len(CASES) >= MIN_CASES
    kinds = {case.kind for case in CASES}
    assert {"units", "rounding", "unicode", "kinds", "degrees", "rows", "scientific", "choice"} <= kinds
    assert {"notation", "hedge", "identity", "guards"} <= kinds
    assert sum(not case.correct for case in CASES) >= 100  # refusals matter as much as acceptances


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}-{i}" for i, c in enumerate(CASES)])
def test_battery_case(pool, case):
    grade = grade_case(pool, case)
    assert grade.correct == case.correct, grade
    if case.status is not None:
        assert grade.status == case.status, grade
