"""A third-party grading policy plugs into the verifier pool through `WorkerCheck` alone: its check runs in
a real verifier worker process, memoised, with no edit of the pool or the worker."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import pytest

from deepmath_ext.verify import Grade, GradeStatus, VerifierPool, grade
from deepmath_ext.verify.executor import WorkerCheck
from deepmath_ext.verify.policies import Policy, get_policy
from deepmath_ext.verify.reference import last_box

pytestmark = pytest.mark.slow
POLICY = f"pkg://{__name__}:EVEN"


@dataclass(frozen=True)
class ParityCheck(WorkerCheck):
    """Correct when the boxed integer is even; says which process ran it."""

    pred: str | None
    number: int
    label: ClassVar[str] = "parity"

    def memo_key(self) -> tuple:
        return (self.number,)

    def run(self) -> tuple[GradeStatus, str | None]:
        status = GradeStatus.CORRECT_SYMBOLIC if self.number % 2 == 0 else GradeStatus.WRONG
        return status, f"pid {os.getpid()}"


def _even(response: str, gold: str, require_think: bool, olympiad_judge: bool) -> Grade | WorkerCheck:
    box = last_box(response)
    if box is None or not box.lstrip("-").isdigit():
        return Grade.of(GradeStatus.NO_ANSWER, box, "no integer box")
    return ParityCheck(box, int(box))


EVEN = Policy("even", _even)


@pytest.fixture(scope="module")
def pool():
    with VerifierPool(workers=1, timeout_s=30.0) as verifier:
        yield verifier


def test_a_pkg_policy_runs_its_check_in_a_verifier_worker(pool):
    assert get_policy(POLICY) is EVEN
    even = grade(r"so \boxed{4}", "unused", policy=POLICY, pool=pool)
    odd = grade(r"so \boxed{7}", "unused", policy=POLICY, pool=pool)
    assert (even.status, even.pred, odd.status) == (GradeStatus.CORRECT_SYMBOLIC, "4", GradeStatus.WRONG)
    assert even.detail == f"pid {pool.worker_pids()[0]}" != f"pid {os.getpid()}"
    assert grade("no box", "unused", policy=POLICY, pool=pool).status == GradeStatus.NO_ANSWER


def test_a_policy_reference_that_is_not_a_policy_is_refused():
    with pytest.raises(ValueError, match="is a function, not a Policy"):
        get_policy(f"pkg://{__name__}:_even")
    with pytest.raises(ValueError, match="does not load"):
        get_policy("pkg://no_such_module:POLICY")
