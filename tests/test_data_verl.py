"""Prepared parquet read by verl 0.9.1's own dataset factory, filter and prompt builder."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from transformers import AutoTokenizer
from verl.trainer.ppo.utils import create_rl_dataset
from verl.utils.tokenizer.continuous_token_wiring import create_continuous_token_builder

from deepmath_ext.data.prepare import prepare_dataset
from deepmath_ext.files import iter_row_file
from deepmath_ext.templates import get_template

SAMPLE = Path(__file__).resolve().parents[1] / "deepmath_ext" / "samples" / "deepmath_sample.jsonl"
# (template, tokenizer folder, how verl picks its prompt builder). R1-Distill-Qwen's config says
# model_type qwen2, but verl's Qwen builder demands `<|im_end|>`, which the R1 tokenizer lacks
# ("Tokenizer does not define required token"), so its prompts are checked with verl's default builder.
CASES = [
    ("orz", "qwen2.5-7b_assembled", {"hf_model_type": "qwen2"}),
    ("qwen-boxed", "qwen2.5-7b_assembled", {"hf_model_type": "qwen2"}),
    ("r1-distill", "deepseek-r1-distill-qwen_assembled", {"model_family": "default"}),
]


def _verl_dataset(path: Path, tokenizer, max_prompt_length: int, cache_dir: Path):
    config = OmegaConf.create(
        {
            "prompt_key": "prompt",
            "max_prompt_length": max_prompt_length,
            "filter_overlong_prompts": True,
            "filter_overlong_prompts_workers": 1,
            "cache_dir": str(cache_dir),
        }
    )
    return create_rl_dataset([str(path)], config, tokenizer, None, is_train=True)


def _tokenizer(tokenizers_dir: Path, name: str, template: str):
    # As verl's HFModelConfig does with actor_rollout_ref.model.custom_chat_template.
    tokenizer = AutoTokenizer.from_pretrained(tokenizers_dir / name)
    tokenizer.chat_template = get_template(template).chat_template or tokenizer.chat_template
    return tokenizer


@pytest.mark.parametrize(("template", "tokenizer_name", "builder_choice"), CASES)
def test_verl_renders_exactly_the_templates_prompt(
    tmp_path, tokenizers_dir, template, tokenizer_name, builder_choice
):
    result = prepare_dataset(tmp_path / "out", template=template, train=SAMPLE, val=(), progress=False)
    tokenizer = _tokenizer(tokenizers_dir, tokenizer_name, template)
    dataset = _verl_dataset(result.train_path, tokenizer, 4096, tmp_path / "cache")
    assert len(dataset) == result.reports["train"].written
    item = dataset[3]
    source_row = list(iter_row_file(SAMPLE))[int(item["extra_info"]["problem_id"])]
    builder = create_continuous_token_builder(tokenizer, **builder_choice)
    verl_prompt = tokenizer.decode(builder.build_initial_tokens(item["raw_prompt"]))
    expected = get_template(template).render(
        AutoTokenizer.from_pretrained(tokenizers_dir / tokenizer_name), source_row["question"]
    )
    assert verl_prompt == expected
    assert item["reward_model"]["ground_truth"] == source_row["final_answer"]


def test_our_prompt_length_limit_agrees_with_verls_filter(tmp_path, tokenizers_dir):
    tokenizer = _tokenizer(tokenizers_dir, "qwen2.5-7b_assembled", "orz")
    template = get_template("orz")
    lengths = [
        len(tokenizer(template.render(tokenizer, row["question"]), add_special_tokens=False)["input_ids"])
        for row in iter_row_file(SAMPLE)
    ]
    limit = int(statistics.median(lengths))  # a limit that keeps some rows and drops others
    full = prepare_dataset(tmp_path / "full", train=SAMPLE, val=(), progress=False)
    verl_kept = len(_verl_dataset(full.train_path, tokenizer, limit, tmp_path / "cache"))
    ours = prepare_dataset(
        tmp_path / "cut", train=SAMPLE, val=(), max_prompt_tokens=limit, tokenizer=tokenizer, progress=False
    ).reports["train"]
    assert 0 < ours.written < len(lengths)
    assert ours.written == verl_kept == sum(n <= limit for n in lengths)
    assert len(ours.dropped["prompt_too_long"]) == len(lengths) - verl_kept
