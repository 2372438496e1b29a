"""The `deepmath` reward manager for verl 0.9.1's reward loop: async grading through a verifier pool."""

from __future__ import annotations

import asyncio
from typing import Any

from verl import DataProto
from verl.experimental.reward_loop.reward_manager import register
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase

from deepmath_ext.reward.overlong import overlong_reward
from deepmath_ext.reward.routing import check_data_source
from deepmath_ext.reward.score import SCORE_KEYS, grade_to_result
from deepmath_ext.reward.settings import RewardSettings
from deepmath_ext.reward.telemetry import difficulty_bucket
from deepmath_ext.verify import get_pool

# Every sample's reward_extra_info has exactly these keys (verl builds arrays from the first sample's).
EXTRA_INFO_KEYS = (*SCORE_KEYS, "overlong", "overlong_reward", "response_len", "difficulty_bucket")


@register("deepmath")
class DeepMathRewardManager(RewardManagerBase):
    """Grades with `deepmath_ext.verify` in a worker-process pool; settings from `reward.reward_kwargs`."""

    def __init__(
        self, config, tokenizer, compute_score, reward_router_address=None, reward_model_tokenizer=None
    ):
        super().__init__(config, tokenizer, compute_score)
        custom_fn = config.reward.get("custom_reward_function") or {}
        if custom_fn.get("path"):
            raise ValueError(
                "reward.reward_manager.name=deepmath grades with deepmath_ext.verify itself and would ignore "
                f"reward.custom_reward_function.path={custom_fn.get('path')!r}: unset it, or use the naive "
                "manager with path=pkg://deepmath_ext.reward"
            )
        self.settings = RewardSettings.from_kwargs(
            config.reward.get("reward_kwargs"), where="reward.reward_kwargs"
        )
        # One pool per reward actor process: verl runs reward.num_workers actors, one manager each.
        self.pool = get_pool(self.settings.verifier_workers, self.settings.verifier_timeout_s)

    async def run_single(self, data: DataProto) -> dict[str, Any]:
        """Score the last sequence of one sample: grade + overlong shaping, fixed extra-info keys."""
        item = data[-1:][0]
        response_ids = item.batch["responses"]
        valid_len = int(item.batch["attention_mask"][-response_ids.shape[-1] :].sum())
        response = self.tokenizer.decode(response_ids[:valid_len], skip_special_tokens=True)
        data_source = str(item.non_tensor_batch["data_source"])
        check_data_source(data_source)
        gold = str(item.non_tensor_batch["reward_model"]["ground_truth"])
        extra_info = item.non_tensor_batch.get("extra_info") or {}

        future = self.pool.submit(response, gold, require_think=self.settings.require_think)
        result = grade_to_result(await asyncio.wrap_future(future), self.settings)
        penalty = overlong_reward(valid_len, self.settings)
        result.update(
            overlong=penalty < 0,
            overlong_reward=penalty,
            response_len=valid_len,
            difficulty_bucket=difficulty_bucket(
                extra_info.get("difficulty"), self.settings.difficulty_buckets
            ),
        )
        return {"reward_score": result["score"] + penalty, "reward_extra_info": result}
