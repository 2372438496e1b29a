"""transformers `generate` backend: small models on CPU or one GPU, exactly seeded per sample."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from deepmath_ext.evaluate.backends import (
    Backend,
    Finished,
    Generation,
    GenerationRequest,
    SamplingSettings,
    effective_max_tokens,
)


def _checked_device(torch: Any, device: str) -> str:
    """`device` when torch knows it and this machine has it; ValueError naming --device otherwise."""
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise ValueError(f"--device {device!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
    if parsed.type == "cuda":
        count = torch.cuda.device_count()
        if (parsed.index or 0) >= count:
            raise ValueError(f"--device {device}: this machine has {count} CUDA device(s)")
    return device


class HFBackend(Backend):
    """Generates one sequence per request so each sample depends only on its own seed, not on batching."""

    name = "hf"

    def __init__(
        self,
        model: str,
        *,
        tokenizer: str | None = None,
        dtype: str = "auto",
        device: str | None = None,
        trust_remote_code: bool = False,
        **_: Any,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self._torch = torch
        self.device = _checked_device(torch, device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._tokenizer = AutoTokenizer.from_pretrained(
            tokenizer or model, trust_remote_code=trust_remote_code
        )
        torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(
            model, dtype=torch_dtype, trust_remote_code=trust_remote_code
        ).to(self.device)
        self.model.eval()
        self.max_model_len = int(getattr(self.model.config, "max_position_embeddings", 0) or 0)
        self.eos_ids = _eos_ids(self.model.generation_config.eos_token_id, self._tokenizer.eos_token_id)

    @property
    def tokenizer(self) -> Any:
        """The tokenizer loaded beside the model."""
        return self._tokenizer

    def stream(
        self, requests: Iterable[GenerationRequest], sampling: SamplingSettings
    ) -> Iterator[list[Finished]]:
        """Sample each request on its own, seeding torch with the request's seed; yield each when done."""
        for request in requests:
            yield [(request, self._generate_one(request, sampling))]

    def _generate_one(self, request: GenerationRequest, sampling: SamplingSettings) -> Generation:
        torch = self._torch
        ids = self._tokenizer(request.prompt, return_tensors="pt", add_special_tokens=False).input_ids
        prompt_len = ids.shape[1]
        budget = effective_max_tokens(sampling.max_tokens, self.max_model_len, prompt_len)
        if budget <= 0:
            raise ValueError(f"{request.key}: prompt of {prompt_len} tokens leaves no room for a response")
        torch.manual_seed(request.seed)
        with torch.no_grad():
            out = self.model.generate(
                ids.to(self.device),
                attention_mask=torch.ones_like(ids).to(self.device),
                max_new_tokens=budget,
                pad_token_id=self.eos_ids[0],
                eos_token_id=self.eos_ids,
                **_sampling_kwargs(sampling),
            )
        new_tokens = out[0, prompt_len:].tolist()
        stopped = [i for i, tok in enumerate(new_tokens) if tok in self.eos_ids]
        if stopped:
            new_tokens = new_tokens[: stopped[0] + 1]
        return Generation(
            text=self._tokenizer.decode(new_tokens, skip_special_tokens=True),
            finish_reason="stop" if stopped else "length",
            response_tokens=len(new_tokens),
            prompt_tokens=prompt_len,
        )

    def close(self) -> None:
        """Drop the model so its memory can be reclaimed."""
        self.model = None
        if self._torch.cuda.is_available():
            self._torch.cuda.empty_cache()

    def describe(self) -> dict[str, Any]:
        """transformers engine facts."""
        import transformers

        return {
            "engine": "transformers",
            "engine_version": transformers.__version__,
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "device": self.device,
            "max_model_len": self.max_model_len,
        }


def _sampling_kwargs(sampling: SamplingSettings) -> dict[str, Any]:
    """`generate` keyword arguments; temperature 0 means greedy, top_k <= 0 means no top-k."""
    if sampling.temperature <= 0:
        return {"do_sample": False}
    return {
        "do_sample": True,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": max(sampling.top_k, 0),
    }


def _eos_ids(*candidates: int | list[int] | None) -> list[int]:
    """Every end-of-sequence id the model or tokenizer declares, first one first."""
    ids: list[int] = []
    for candidate in candidates:
        for tok in candidate if isinstance(candidate, list) else [candidate]:
            if tok is not None and tok not in ids:
                ids.append(int(tok))
    if not ids:
        raise ValueError("the model and tokenizer declare no eos token id")
    return ids
