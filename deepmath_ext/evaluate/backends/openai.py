"""OpenAI-compatible HTTP backend (`vllm serve`, sglang, ...): bounded concurrency and retries."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from deepmath_ext.endpoint import Endpoint
from deepmath_ext.errors import UserError
from deepmath_ext.evaluate.backends import (
    Backend,
    Finished,
    Generation,
    GenerationRequest,
    SamplingSettings,
)
from deepmath_ext.evaluate.backends.vllm import prompt_token_ids

log = logging.getLogger(__name__)


def completion_body(
    request: GenerationRequest, sampling: SamplingSettings, model: str, prompt_ids: list[int]
) -> dict[str, Any]:
    """The /v1/completions body; token ids are sent so the server adds no second BOS."""
    body: dict[str, Any] = {
        "model": model,
        "prompt": prompt_ids,
        "n": 1,
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "seed": request.seed,
    }
    if sampling.top_k > 0:
        body["top_k"] = sampling.top_k  # vLLM/sglang extension; omitted when unused for plain servers
    return body


def generation_from_response(response: dict[str, Any]) -> Generation:
    """Map a /v1/completions response with one choice to a `Generation`."""
    try:
        choice = response["choices"][0]
        usage = response["usage"]
        return Generation(
            text=choice["text"],
            finish_reason=choice["finish_reason"],
            response_tokens=int(usage["completion_tokens"]),
            prompt_tokens=int(usage["prompt_tokens"]),
        )
    except (KeyError, IndexError, TypeError) as exc:
        raise UserError(f"malformed completion response (missing {exc}): {str(response)[:300]}") from exc


def _arrived(answers: queue.Queue[tuple[GenerationRequest, Generation | BaseException]]) -> list[Finished]:
    """The next answer and any others already there (one fsync for all), or the first error a thread hit."""
    arrived = [answers.get()]
    with contextlib.suppress(queue.Empty):
        while True:
            arrived.append(answers.get_nowait())
    for _, result in arrived:
        if isinstance(result, BaseException):
            raise result
    return arrived  # type: ignore[return-value]  # no errors among them


class OpenAIBackend(Backend):
    """Sends each request to a running server; prompts are rendered and tokenized locally."""

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "http://127.0.0.1:8000/v1",
        served_model_name: str | None = None,
        tokenizer: str | None = None,
        api_key: str | None = None,
        concurrency: int = 32,
        max_retries: int = 5,
        retry_backoff_s: float = 1.0,
        request_timeout_s: float = 3600.0,
        trust_remote_code: bool = False,
        **_: Any,
    ) -> None:
        self.endpoint = Endpoint(
            base_url,
            api_key=api_key,
            timeout_s=request_timeout_s,
            max_retries=max_retries,
            backoff_s=retry_backoff_s,
        )
        # Before the tokenizer loads and anything is queued: a dead URL fails in seconds, not after retries.
        self.endpoint.preflight("start the server (e.g. `vllm serve MODEL`) or pass --base-url")
        from transformers import AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(
            tokenizer or model, trust_remote_code=trust_remote_code
        )
        self.base_url = self.endpoint.base_url
        self.model = served_model_name or model
        self.concurrency = concurrency

    @property
    def retries(self) -> int:
        """Retried requests so far."""
        return self.endpoint.retries

    @property
    def tokenizer(self) -> Any:
        """The local tokenizer prompts are rendered and tokenized with."""
        return self._tokenizer

    def stream(
        self, requests: Iterable[GenerationRequest], sampling: SamplingSettings
    ) -> Iterator[list[Finished]]:
        """Keep up to `concurrency` requests in flight; yield each response as it arrives.

        Each request runs on a daemon thread, so an interrupt ends the process at once: only the requests
        in flight are lost.
        """
        answers: queue.Queue[tuple[GenerationRequest, Generation | BaseException]] = queue.Queue()

        def complete(request: GenerationRequest) -> None:
            try:
                answers.put((request, self._complete(request, sampling)))
            except BaseException as exc:  # handed to the caller's thread below
                answers.put((request, exc))

        in_flight = 0
        for request in requests:
            if in_flight == self.concurrency:
                finished = _arrived(answers)
                in_flight -= len(finished)
                yield finished
            threading.Thread(target=complete, args=(request,), daemon=True).start()
            in_flight += 1
        while in_flight:
            finished = _arrived(answers)
            in_flight -= len(finished)
            yield finished

    def _complete(self, request: GenerationRequest, sampling: SamplingSettings) -> Generation:
        body = completion_body(
            request, sampling, self.model, prompt_token_ids(request.prompt, self._tokenizer)
        )
        try:
            return generation_from_response(self.endpoint.post("/completions", body))
        except UserError as error:
            raise UserError(f"{request.key}: {error}") from None

    def close(self) -> None:
        """Nothing to release: each request's thread ends with its response."""

    def describe(self) -> dict[str, Any]:
        """Server facts: its URL and what /v1/models says about the served model."""
        try:
            models = self.endpoint.get("/models").get("data", [])
        except UserError as exc:
            models = [{"error": str(exc)}]
        served = next((m for m in models if m.get("id") == self.model), {})
        return {
            "engine": "openai-compatible server",
            "base_url": self.base_url,
            "served_model": self.model,
            "server_model_info": served or models,
            "max_model_len": served.get("max_model_len"),
        }
