"""Generation backends behind one interface, and the records they exchange; each backend module (and its
engine: torch, vllm) is imported only when chosen."""

from __future__ import annotations

import abc
import importlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from deepmath_ext.endpoint import is_hub_id, require_hub

# numpy's and vLLM's seeds are unsigned 32-bit: --seed, and seed + i for sample i, must fit.
SEED_MAX = 2**32 - 1

FINISH_REASONS = ("stop", "length")
# Backend name -> "module:class"; the module loads on first use.
BACKENDS: dict[str, str] = {
    "hf": "deepmath_ext.evaluate.backends.hf:HFBackend",
    "openai": "deepmath_ext.evaluate.backends.openai:OpenAIBackend",
    "vllm": "deepmath_ext.evaluate.backends.vllm:VLLMBackend",
}
LOCAL_WEIGHT_BACKENDS = frozenset({"hf", "vllm"})  # they load the weights here; `openai` asks a server


@dataclass(frozen=True, order=True)
class SampleKey:
    """One generated sample: sample `index` of problem `problem_id` in `benchmark`."""

    benchmark: str
    problem_id: str
    index: int


@dataclass(frozen=True)
class SamplingSettings:
    """Sampling parameters shared by every request of a run."""

    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = -1
    max_tokens: int = 32768

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for manifests and fingerprints."""
        return asdict(self)


@dataclass(frozen=True)
class GenerationRequest:
    """A rendered prompt to sample once with its own seed."""

    key: SampleKey
    prompt: str
    seed: int


@dataclass(frozen=True)
class Generation:
    """What a backend returns for one request."""

    text: str
    finish_reason: str
    response_tokens: int
    prompt_tokens: int

    def __post_init__(self) -> None:
        if self.finish_reason not in FINISH_REASONS:
            raise ValueError(f"finish_reason must be one of {FINISH_REASONS}, got {self.finish_reason!r}")


def effective_max_tokens(max_tokens: int, max_model_len: int | None, prompt_tokens: int) -> int:
    """The longest response a prompt can get: max_tokens, capped by the context left after the prompt."""
    if not max_model_len:
        return max_tokens
    return min(max_tokens, max_model_len - prompt_tokens)


# One finished sample: the request and what it produced.
Finished = tuple[GenerationRequest, Generation]


class Backend(abc.ABC):
    """Turns rendered prompts into sampled completions, one per request, streamed as they finish."""

    name: str = "base"

    @property
    @abc.abstractmethod
    def tokenizer(self) -> Any:
        """The tokenizer prompts are rendered with (a transformers tokenizer)."""

    @abc.abstractmethod
    def stream(
        self, requests: Iterable[GenerationRequest], sampling: SamplingSettings
    ) -> Iterator[list[Finished]]:
        """Sample one completion per request, seeded by `request.seed`; yield them in groups as they finish.

        Requests are drawn lazily, as the engine has room, and finish in any order; a group is what finished
        together (one engine step, one response), so a caller can store it before asking for more.
        """

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingSettings) -> list[Generation]:
        """Sample one completion per request; results in request order."""
        done = {request.key: gen for group in self.stream(requests, sampling) for request, gen in group}
        return [done[request.key] for request in requests]

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """Engine facts for the manifest: engine versions, dtype, parallelism, maximum model length."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release engines, threads and memory."""


def create_backend(name: str, model: str, **options: Any) -> Backend:
    """Build the backend called `name` for `model`; unknown names list the known ones."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))}")
    if name in LOCAL_WEIGHT_BACKENDS and is_hub_id(model):
        require_hub(f"model {model}", "pass a local model folder with --model")
    module_name, class_name = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)(model, **options)
