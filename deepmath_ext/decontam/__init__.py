"""Decontamination: find benchmark problems in training data by n-grams, embeddings and an LLM judge."""

from deepmath_ext.decontam.judge import JudgeConfig, judge_pairs
from deepmath_ext.decontam.ngram import NgramIndex
from deepmath_ext.decontam.normalize import normalize_text, normalize_tokens
from deepmath_ext.decontam.pipeline import DecontamConfig, DecontamResult, Hit, decontaminate
from deepmath_ext.decontam.run import decontaminate_to_dir

__all__ = [
    "DecontamConfig",
    "DecontamResult",
    "Hit",
    "JudgeConfig",
    "NgramIndex",
    "decontaminate",
    "decontaminate_to_dir",
    "judge_pairs",
    "normalize_text",
    "normalize_tokens",
]
