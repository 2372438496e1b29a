"""Decontamination: find benchmark problems in training data by n-grams, embeddings and an LLM judge."""

from deepmath_ext.decontam.judge import JudgeConfig, Verdict, judge_pairs
from deepmath_ext.decontam.ngram import NgramIndex, NgramMatch
from deepmath_ext.decontam.normalize import normalize_text, normalize_tokens
from deepmath_ext.decontam.pipeline import STAGES, DecontamConfig, DecontamResult, Hit, decontaminate
from deepmath_ext.decontam.run import decontaminate_to_dir, load_references, load_train_questions

__all__ = [
    "STAGES",
    "DecontamConfig",
    "DecontamResult",
    "Hit",
    "JudgeConfig",
    "NgramIndex",
    "NgramMatch",
    "Verdict",
    "decontaminate",
    "decontaminate_to_dir",
    "judge_pairs",
    "load_references",
    "load_train_questions",
    "normalize_text",
    "normalize_tokens",
]
