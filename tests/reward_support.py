"""Real verl inputs for the reward tests and benchmark: composed config and tokenised DataProto batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from shared_data import data_path

TOKENIZER = "deepseek-r1-distill-qwen_assembled"


def tokenizer_dir() -> Path:
    """The R1-distill tokenizer folder of the test data (the test skips without it)."""
    return data_path("tokenizers", TOKENIZER, "tokenizer_config.json").parent


@dataclass(frozen=True)
class Rollout:
    """One rollout as the reward loop sees it: prompt text, response text and the dataset's columns."""

    problem: str
    response: str
    gold: str
    data_source: str = "deepmath-103k"
    extra_info: dict[str, Any] = field(default_factory=dict)


def verl_config(overrides: Sequence[str], tokenizer: Path | None = None):
    """verl 0.9.1's own `ppo_trainer` config composed with Hydra, pointed at a local tokenizer."""
    from hydra import compose, initialize_config_module

    tokenizer = tokenizer or tokenizer_dir()
    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        return compose(
            config_name="ppo_trainer",
            overrides=[f"actor_rollout_ref.model.path={tokenizer}", *overrides],
        )


def rollout_batch(tokenizer, rollouts: Sequence[Rollout], max_response_len: int | None = None):
    """A reward-loop `DataProto`: left-padded chat prompts, right-padded responses (+EOS), mask, columns."""
    from verl import DataProto

    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": r.problem}], add_generation_prompt=True, tokenize=False
        )
        for r in rollouts
    ]
    prompts = [tokenizer(text, add_special_tokens=False).input_ids for text in texts]
    responses = [
        [*tokenizer(r.response, add_special_tokens=False).input_ids, tokenizer.eos_token_id] for r in rollouts
    ]
    if max_response_len is not None:
        responses = [ids[:max_response_len] for ids in responses]
    prompt_ids, prompt_mask = _pad(prompts, tokenizer.pad_token_id, left=True)
    response_ids, response_mask = _pad(responses, tokenizer.pad_token_id, left=False)
    return DataProto.from_dict(
        tensors={
            "prompts": prompt_ids,
            "responses": response_ids,
            "attention_mask": torch.cat([prompt_mask, response_mask], dim=1),
        },
        non_tensors={
            "data_source": np.array([r.data_source for r in rollouts], dtype=object),
            "reward_model": np.array(
                [{"style": "rule", "ground_truth": r.gold} for r in rollouts], dtype=object
            ),
            "extra_info": np.array([dict(r.extra_info) for r in rollouts], dtype=object),
        },
    )


def _pad(rows: Sequence[Sequence[int]], pad_id: int, *, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[i, span] = torch.tensor(row, dtype=torch.long)
        mask[i, span] = 1
    return ids, mask


@pytest.fixture(scope="module")
def tokenizer():
    """The shared R1-distill tokenizer the reward tests decode with."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir())


def scores_at_last_token(output, batch) -> list[float]:
    """The reward verl placed on each sample's last response token."""
    prompt_len = batch.batch["prompts"].shape[1]
    last = batch.batch["attention_mask"][:, prompt_len:].sum(dim=1) - 1
    return [float(output.batch["rm_scores"][i, last[i]]) for i in range(len(batch))]
