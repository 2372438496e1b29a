"""The evaluator: generate with vllm/openai/hf, grade with the shared verifier, score with intervals."""

from deepmath_ext.evaluate.backends import (
    BACKENDS,
    Backend,
    Generation,
    GenerationRequest,
    SampleKey,
    SamplingSettings,
)
from deepmath_ext.evaluate.manifest import SettingsMismatchError
from deepmath_ext.evaluate.metrics import (
    ProblemResult,
    ScoredSample,
    benchmark_metrics,
    bootstrap_ci,
    pass_at_k,
)
from deepmath_ext.evaluate.report import BaselineRow, load_baselines
from deepmath_ext.evaluate.runner import EvalConfig, finalize_run, run_eval
from deepmath_ext.evaluate.store import GenerationStore

__all__ = [
    "BACKENDS",
    "Backend",
    "BaselineRow",
    "EvalConfig",
    "Generation",
    "GenerationRequest",
    "GenerationStore",
    "ProblemResult",
    "SampleKey",
    "SamplingSettings",
    "ScoredSample",
    "SettingsMismatchError",
    "benchmark_metrics",
    "bootstrap_ci",
    "finalize_run",
    "load_baselines",
    "pass_at_k",
    "run_eval",
]
