"""A strict, fast, hang-proof grader of boxed math answers (see docs/verifier.md)."""

from deepmath_ext.verify.normalize import normalize_answer
from deepmath_ext.verify.policies import DEFAULT_POLICY, POLICY_NAMES, get_policy, policy_names
from deepmath_ext.verify.pool import VerifierPool, get_pool, grade, grade_batch
from deepmath_ext.verify.status import Grade, GradeStatus

# The grading semantics' version: bump it in every change after which any (response, gold) pair can get
# a different grade, so that runs graded by different verifiers are never compared silently.
VERIFIER_VERSION = "4"

__all__ = [
    "DEFAULT_POLICY",
    "POLICY_NAMES",
    "VERIFIER_VERSION",
    "Grade",
    "GradeStatus",
    "VerifierPool",
    "get_policy",
    "get_pool",
    "grade",
    "grade_batch",
    "normalize_answer",
    "policy_names",
]
