"""Helpers for the recipe and train tests: tiny local models and prepared data, both built for real."""

from __future__ import annotations

from pathlib import Path

from tiny_models import build_tiny_qwen2

# The tokenizer each recipe's real model uses, from the test data's tokenizers/ (a tiny model is built around it).
# Qwen2.5-Math-7B's tokenizer is Qwen2.5's; there is no OpenMath-Nemotron tokenizer here, so the R1-distill one
# (the same Qwen2.5 vocabulary) stands in for it.
RECIPE_TOKENIZERS = {
    "deepmath-zero-7b": "qwen2.5-7b_assembled",
    "deepmath-zero-math-7b": "qwen2.5-7b_assembled",
    "deepmath-1.5b": "deepseek-r1-distill-qwen_assembled",
    "deepmath-omn-1.5b": "deepseek-r1-distill-qwen_assembled",
    "smoke-1gpu": "qwen2-1.5b-instruct_as_found",
}
# The prompt template each recipe's data must be prepared with (the recipe's ${deepmath.template:NAME}).
RECIPE_TEMPLATES = {
    "deepmath-zero-7b": "orz",
    "deepmath-zero-math-7b": "qwen-boxed",
    "deepmath-1.5b": "r1-distill",
    "deepmath-omn-1.5b": "omn",
    "smoke-1gpu": "qwen-boxed",
}
SAMPLE = Path(__file__).resolve().parents[1] / "deepmath_ext" / "samples" / "deepmath_sample.jsonl"


def prepare_sample(out_dir: Path, template: str, benchmarks_dir: Path) -> tuple[Path, Path]:
    """train.parquet from the bundled DeepMath sample and val.parquet from AMC23, via `deepmath prepare`."""
    from deepmath_ext.data.prepare import prepare_dataset

    result = prepare_dataset(
        out_dir, template=template, train=SAMPLE, val=("amc23",), data_dir=benchmarks_dir, progress=False
    )
    return result.train_path, result.val_path


def tiny_model_for(recipe: str, tokenizers_dir: Path, cache_dir: Path) -> Path:
    """The tiny model for `recipe`'s tokenizer, built once per test session under `cache_dir`."""
    out = cache_dir / f"tiny-{RECIPE_TOKENIZERS[recipe]}"
    if not (out / "config.json").is_file():
        build_tiny_qwen2(tokenizers_dir / RECIPE_TOKENIZERS[recipe], out, layers=2)
    return out


def prepared_for(recipe: str, benchmarks_dir: Path, cache_dir: Path) -> tuple[Path, Path]:
    """Data prepared with `recipe`'s template, once per test session under `cache_dir`."""
    out = cache_dir / f"data-{RECIPE_TEMPLATES[recipe]}"
    if not (out / "val.parquet").is_file():
        return prepare_sample(out, RECIPE_TEMPLATES[recipe], benchmarks_dir)
    return out / "train.parquet", out / "val.parquet"


def local_overrides(recipe: str, data_root: Path, cache_dir: Path) -> list[str]:
    """Hydra overrides pointing `recipe` at a tiny local model and at data prepared for it."""
    model = tiny_model_for(recipe, data_root / "tokenizers", cache_dir)
    train, val = prepared_for(recipe, data_root / "benchmarks", cache_dir)
    return [f"actor_rollout_ref.model.path={model}", f"data.train_files={train}", f"data.val_files={val}"]
