"""Datasets: the DeepMath-103K loader, the benchmark registry, and preparation into verl's format."""

from deepmath_ext.data.benchmarks import (
    BENCHMARKS,
    PAPER_BENCHMARKS,
    BenchmarkMismatchError,
    BenchmarkProblem,
    get_benchmark,
    load_benchmark,
)
from deepmath_ext.data.deepmath import DEEPMATH_HF_ID, iter_deepmath

# verl's `data_source` column: training rows say TRAIN_DATA_SOURCE, validation rows their benchmark's name.
TRAIN_DATA_SOURCE = "deepmath-103k"

__all__ = [
    "BENCHMARKS",
    "DEEPMATH_HF_ID",
    "PAPER_BENCHMARKS",
    "TRAIN_DATA_SOURCE",
    "BenchmarkMismatchError",
    "BenchmarkProblem",
    "get_benchmark",
    "iter_deepmath",
    "load_benchmark",
]
