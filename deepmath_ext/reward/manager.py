"""The deepmath reward manager: verl's own DAPO manager with deepmath's `compute_score`.

Recipes select it through verl's public config, with no registration (`deepmath_ext.reward.recipe.
MANAGER_SELECTION`): `reward.reward_manager.source=importlib`, `.name=DeepMathRewardManager`,
`.module.path=pkg://deepmath_ext.reward.manager`.
"""

from __future__ import annotations

import functools

from deepmath_ext.verl_overrides.compat import check_verl_version

check_verl_version()  # before touching verl's internals: an untested verl fails here, in one line

from verl.experimental.reward_loop.reward_manager.dapo import DAPORewardManager  # noqa: E402

from deepmath_ext.reward import score  # noqa: E402
from deepmath_ext.reward.grading import our_kwargs  # noqa: E402
from deepmath_ext.reward.score import RewardConfig  # noqa: E402
from deepmath_ext.verify import get_pool  # noqa: E402


class DeepMathRewardManager(DAPORewardManager):
    """DAPO's decoding and overlong shaping; reward terms and grading settings from `reward.reward_kwargs`."""

    def __init__(
        self, config, tokenizer, compute_score=None, reward_router_address=None, reward_model_tokenizer=None
    ):
        custom_path = (config.reward.get("custom_reward_function") or {}).get("path")
        if custom_path:  # verl would hand us that function; refuse rather than ignore it
            raise ValueError(
                "the deepmath reward manager scores with deepmath_ext.reward.compute_score and would "
                f"ignore reward.custom_reward_function.path={custom_path!r}: unset it, or use verl's dapo or "
                "naive manager with it"
            )
        kwargs = our_kwargs(config.reward.get("reward_kwargs"))
        # A misspelt key fails here, once.
        grading = RewardConfig.from_kwargs(kwargs, where="reward.reward_kwargs").grading
        # This actor will grade: its verifier zygote imports sympy now, in the background, not at the first
        # symbolic check of the first batch.
        get_pool(grading.verifier_workers, grading.verifier_timeout_s).start(wait=False)
        super().__init__(
            config,
            tokenizer,
            functools.partial(score.compute_score, **kwargs),
            reward_router_address,
            reward_model_tokenizer,
        )
