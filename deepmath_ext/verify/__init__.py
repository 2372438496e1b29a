"""A strict, fast, hang-proof grader of boxed math answers (see docs/verifier.md)."""

from deepmath_ext.verify.grade import get_default_pool, get_pool, grade, grade_answer, grade_batch
from deepmath_ext.verify.normalize import normalize_answer
from deepmath_ext.verify.pool import VerifierPool
from deepmath_ext.verify.status import Grade, GradeStatus

__all__ = [
    "Grade",
    "GradeStatus",
    "VerifierPool",
    "get_default_pool",
    "get_pool",
    "grade",
    "grade_answer",
    "grade_batch",
    "normalize_answer",
]
