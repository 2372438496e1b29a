"""OpenAI-compatible HTTP backend (`vllm serve`, sglang, ...): bounded concurrency and retries."""

from __future__ import annotations

import contextlib
import logging
import queue
import statistics
import threading
import time
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

# A request's default timeout per attempt: a base for the queue and the prompt, plus the longest answer at a
# slow server's pace. A server that accepts and never answers then fails in minutes, not hours.
REQUEST_TIMEOUT_BASE_S = 60.0
MIN_TOKENS_PER_S = 10
# A request waiting this many times the median answer time of its peers (and at least STRAGGLER_MIN_S;
# with no answer yet, that long) is named on stderr once: a stuck server shows itself before the timeout.
STRAGGLER_FACTOR = 5.0
STRAGGLER_MIN_S = 60.0
WATCH_INTERVAL_S = 5.0


def default_request_timeout(max_tokens: int) -> float:
    """Seconds per attempt when --request-timeout is not given: it grows with the answer's length."""
    return REQUEST_TIMEOUT_BASE_S + max_tokens / MIN_TOKENS_PER_S


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


class _Waits:
    """When each request in flight was sent and how long answered ones took: names one left waiting."""

    def __init__(self) -> None:
        self.sent: dict[Any, float] = {}
        self.took: list[float] = []
        self.named: set[Any] = set()

    def start(self, key: Any) -> None:
        self.sent[key] = time.monotonic()

    def done(self, key: Any) -> None:
        self.took.append(time.monotonic() - self.sent.pop(key))

    def stragglers(self) -> list[str]:
        """A line for each request waiting far longer than its peers took, once per request."""
        typical = statistics.median(self.took) if self.took else None
        limit = max(STRAGGLER_MIN_S, STRAGGLER_FACTOR * typical) if typical else STRAGGLER_MIN_S
        now, lines = time.monotonic(), []
        for key, sent in self.sent.items():
            if now - sent > limit and key not in self.named:
                self.named.add(key)
                peers = (
                    f"the median of {len(self.took)} answered is {typical:.0f} s"
                    if typical
                    else "none answered yet"
                )
                lines.append(
                    f"request {key} has waited {now - sent:.0f} s ({peers}); the server may be stuck"
                )
        return lines


def _arrived(
    answers: queue.Queue[tuple[GenerationRequest, Generation | BaseException]], waits: _Waits
) -> list[Finished]:
    """The next answer and any others already there (one fsync for all), or the first error a thread hit."""
    while True:
        try:
            arrived = [answers.get(timeout=WATCH_INTERVAL_S)]
            break
        except queue.Empty:
            for line in waits.stragglers():
                log.warning(line)
    with contextlib.suppress(queue.Empty):
        while True:
            arrived.append(answers.get_nowait())
    for request, result in arrived:
        if isinstance(result, BaseException):
            raise result
        waits.done(request.key)
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
        request_timeout_s: float | None = None,
        trust_remote_code: bool = False,
        **_: Any,
    ) -> None:
        self.endpoint = Endpoint(
            base_url,
            api_key=api_key,
            timeout_s=request_timeout_s or default_request_timeout(SamplingSettings.max_tokens),
            max_retries=max_retries,
            backoff_s=retry_backoff_s,
        )
        # Before the tokenizer loads and anything is queued: a dead URL fails in seconds, not after retries.
        self.endpoint.preflight("start the server (e.g. `vllm serve MODEL`) or pass --base-url")
        from transformers import AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(
            tokenizer or model, trust_remote_code=trust_remote_code
        )
        self.model = served_model_name or model
        self.concurrency = concurrency
        self._fixed_timeout = request_timeout_s is not None

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
        in flight are lost. Prompts are tokenized here, not on those threads: a thread inside the tokenizer's
        native code when the process exits after an error aborts it ("FATAL: exception not rethrown").
        """
        if not self._fixed_timeout:
            self.endpoint.timeout_s = default_request_timeout(sampling.max_tokens)
        answers: queue.Queue[tuple[GenerationRequest, Generation | BaseException]] = queue.Queue()
        waits = _Waits()

        def complete(request: GenerationRequest, body: dict[str, Any]) -> None:
            try:
                answers.put((request, self._complete(request, body)))
            except BaseException as exc:  # handed to the caller's thread below
                answers.put((request, exc))

        in_flight = 0
        for request in requests:
            if in_flight == self.concurrency:
                finished = _arrived(answers, waits)
                in_flight -= len(finished)
                yield finished
            prompt_ids = prompt_token_ids(request.prompt, self._tokenizer)
            body = completion_body(request, sampling, self.model, prompt_ids)
            waits.start(request.key)
            threading.Thread(target=complete, args=(request, body), daemon=True).start()
            in_flight += 1
        while in_flight:
            finished = _arrived(answers, waits)
            in_flight -= len(finished)
            yield finished

    def _complete(self, request: GenerationRequest, body: dict[str, Any]) -> Generation:
        try:
            response = self.endpoint.post("/completions", body)
            answered_by = response.get("model") if isinstance(response, dict) else None
            if answered_by is not None and answered_by != self.model:  # the pinned server id
                raise UserError(
                    f"the server answered as model {answered_by!r}, not the pinned {self.model!r}"
                )
            return generation_from_response(response)
        except UserError as error:
            raise UserError(f"{request.key}: {error}") from None

    def close(self) -> None:
        """Nothing to release: each request's thread ends with its response."""

    def describe(self) -> dict[str, Any]:
        """Server facts: its URL and what /v1/models says about the served model."""
        try:
            listing = self.endpoint.get("/models")
            models = listing.get("data", []) if isinstance(listing, dict) else listing
        except UserError as exc:
            models = [{"error": str(exc)}]
        # A listing of plain names (or anything else) has no facts to pin: server_model refuses it by name.
        models = models if isinstance(models, list) else [models]
        served = next((m for m in models if isinstance(m, dict) and m.get("id") == self.model), {})
        return {
            "engine": "openai-compatible server",
            "base_url": self.endpoint.display_url,
            "served_model": self.model,
            "server_model_info": served or models,
            "max_model_len": served.get("max_model_len"),
        }
