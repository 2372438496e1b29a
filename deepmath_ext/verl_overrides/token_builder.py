"""Override of `verl.experimental.agent_loop.agent_loop.create_continuous_token_builder` (verl 0.9.1).

verl picks the rollout's token builder from config.json's model_type alone. DeepSeek-R1-Distill-Qwen says
`qwen2` but its tokenizer has no `<|im_end|>`, so the Qwen builder raises in every agent-loop worker and the
deepmath-1.5b recipe could not roll out at all. verl has no config key for the builder family, so the agent
loop's reference to the factory (it imports the name directly from
`verl.utils.tokenizer.continuous_token_wiring`) is rebound to a wrapper that falls back to verl's default
builder when, and only when, an inferred family lacks its chat tokens; an explicitly chosen family still fails
loudly. verl's default builder renders the R1 prompt exactly (tests/test_data_verl.py).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)
AGENT_LOOP_MODULE = "verl.experimental.agent_loop.agent_loop"
MISSING_TOKEN_ERROR = "Tokenizer does not define required token"
DEFAULT_FAMILY = "default"


def with_default_builder_fallback(create: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap verl's `create_continuous_token_builder` to fall back to its default builder (see the module)."""
    if getattr(create, "deepmath_fallback", False):
        return create

    @functools.wraps(create)
    def create_builder(tokenizer: Any, *args: Any, model_family: Any = "auto", **kwargs: Any) -> Any:
        try:
            return create(tokenizer, *args, model_family=model_family, **kwargs)
        except ValueError as error:
            if str(model_family) != "auto" or MISSING_TOKEN_ERROR not in str(error):
                raise
            logger.warning("%s; deepmath uses verl's default Continuous Token builder instead", error)
            return create(tokenizer, *args, model_family=DEFAULT_FAMILY, **kwargs)

    create_builder.deepmath_fallback = True
    return create_builder


def install_token_builder_fallback() -> None:
    """Rebind the agent loop's reference to the builder factory (run right after verl imports the module)."""
    agent_loop = sys.modules[AGENT_LOOP_MODULE]
    agent_loop.create_continuous_token_builder = with_default_builder_fallback(
        agent_loop.create_continuous_token_builder
    )
