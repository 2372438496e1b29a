"""vLLM offline-engine backend (imported lazily; install with the `vllm` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deepmath_ext.evaluate.backends.base import (
    FINISH_REASONS,
    Backend,
    Generation,
    GenerationRequest,
    SamplingSettings,
    effective_max_tokens,
)

INSTALL_HINT = "the vllm backend needs vLLM: pip install 'deepmath[vllm]'"


def import_vllm() -> Any:
    """Import vllm, or raise an ImportError that names the extra to install."""
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from exc
    return vllm


def sampling_params_kwargs(
    request: GenerationRequest, sampling: SamplingSettings, prompt_tokens: int, max_model_len: int
) -> dict[str, Any]:
    """`SamplingParams` keyword arguments for one request: one sample with its own seed, capped to fit."""
    max_tokens = effective_max_tokens(sampling.max_tokens, max_model_len, prompt_tokens)
    if max_tokens <= 0:
        raise ValueError(
            f"{request.key}: prompt of {prompt_tokens} tokens fills max_model_len={max_model_len}"
        )
    return {
        "n": 1,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k if sampling.top_k > 0 else -1,
        "max_tokens": max_tokens,
        "seed": request.seed,
    }


def prompt_token_ids(prompt: str, tokenizer: Any) -> list[int]:
    """Token ids of a rendered prompt; the template already holds any BOS, so none is added."""
    return list(tokenizer(prompt, add_special_tokens=False)["input_ids"])


def generation_from_output(output: Any) -> Generation:
    """Map a vLLM `RequestOutput` with one completion to a `Generation`."""
    completion = output.outputs[0]
    if completion.finish_reason not in FINISH_REASONS:
        raise RuntimeError(f"vLLM request {output.request_id} ended with {completion.finish_reason!r}")
    return Generation(
        text=completion.text,
        finish_reason=completion.finish_reason,
        response_tokens=len(completion.token_ids),
        prompt_tokens=len(output.prompt_token_ids or []),
    )


class VLLMBackend(Backend):
    """Offline `vllm.LLM`; every sample carries its own seed (run seed + sample index)."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        tokenizer: str | None = None,
        dtype: str = "bfloat16",
        tensor_parallel_size: int = 1,
        seed: int = 0,
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        trust_remote_code: bool = False,
        **_: Any,
    ) -> None:
        vllm = import_vllm()
        self._vllm = vllm
        self.dtype = dtype
        self.tensor_parallel_size = tensor_parallel_size
        self.llm = vllm.LLM(
            model=model,
            tokenizer=tokenizer or model,
            dtype=dtype,
            tensor_parallel_size=tensor_parallel_size,
            seed=seed,
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
            trust_remote_code=trust_remote_code,
        )
        self.max_model_len = int(self.llm.llm_engine.model_config.max_model_len)

    @property
    def tokenizer(self) -> Any:
        """The engine's tokenizer."""
        return self.llm.get_tokenizer()

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingSettings) -> list[Generation]:
        """One engine call for the whole batch, one `SamplingParams` per request."""
        tokenizer = self.tokenizer  # one engine lookup per batch, not per request
        prompts, params = [], []
        for request in requests:
            ids = prompt_token_ids(request.prompt, tokenizer)
            prompts.append({"prompt_token_ids": ids})
            kwargs = sampling_params_kwargs(request, sampling, len(ids), self.max_model_len)
            params.append(self._vllm.SamplingParams(**kwargs))
        outputs = self.llm.generate(prompts, params, use_tqdm=True)
        return [generation_from_output(output) for output in outputs]

    def close(self) -> None:
        """Drop the engine so its GPU memory can be reclaimed."""
        self.llm = None

    def describe(self) -> dict[str, Any]:
        """vLLM engine facts."""
        return {
            "engine": "vllm",
            "engine_version": self._vllm.__version__,
            "dtype": self.dtype,
            "tensor_parallel_size": self.tensor_parallel_size,
            "max_model_len": self.max_model_len,
        }
