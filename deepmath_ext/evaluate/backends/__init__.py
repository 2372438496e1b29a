"""Generation backends behind one interface; each is imported only when chosen."""

from __future__ import annotations

import importlib
from typing import Any

from deepmath_ext.endpoint import is_hub_id, require_hub
from deepmath_ext.evaluate.backends.base import (
    Backend,
    Generation,
    GenerationRequest,
    SampleKey,
    SamplingSettings,
)

# Backend name -> "module:class"; the module (and its engine: torch, vllm) loads on first use.
BACKENDS: dict[str, str] = {
    "hf": "deepmath_ext.evaluate.backends.hf:HFBackend",
    "openai": "deepmath_ext.evaluate.backends.openai:OpenAIBackend",
    "vllm": "deepmath_ext.evaluate.backends.vllm:VLLMBackend",
}
LOCAL_WEIGHT_BACKENDS = frozenset({"hf", "vllm"})  # they load the weights here; `openai` asks a server


def create_backend(name: str, model: str, **options: Any) -> Backend:
    """Build the backend called `name` for `model`; unknown names list the known ones."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))}")
    if name in LOCAL_WEIGHT_BACKENDS and is_hub_id(model):
        require_hub(f"model {model}", "pass a local model folder with --model")
    module_name, class_name = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)(model, **options)


__all__ = [
    "BACKENDS",
    "Backend",
    "Generation",
    "GenerationRequest",
    "SampleKey",
    "SamplingSettings",
    "create_backend",
]
