"""Stage 3: an LLM behind an OpenAI-compatible endpoint decides whether two problems are the same."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources

from tqdm import tqdm

PROMPT_TEMPLATE = resources.files("deepmath_ext.decontam").joinpath("judge_prompt.txt").read_text("utf-8")
_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


@dataclass(frozen=True)
class JudgeConfig:
    """Where the judge lives and how a pair is decided."""

    endpoint: str  # base URL of an OpenAI-compatible server, e.g. http://localhost:8000/v1
    model: str
    require_both: bool = False  # True: both orders must say YES; False: either order suffices
    workers: int = 8
    timeout_s: float = 60.0
    retries: int = 3


@dataclass(frozen=True)
class Verdict:
    """The judge's answers for one (training, benchmark) pair, asked in both orders."""

    same: bool
    answers: tuple[str, str]  # "yes" / "no" / "unclear", for (train first, benchmark first)


def judge_prompt(first: str, second: str) -> str:
    """The judge prompt for one ordered pair of problems."""
    return PROMPT_TEMPLATE.format(first=first.strip(), second=second.strip())


def parse_answer(content: str) -> str:
    """The first YES/NO word of a reply, lower-cased, or "unclear" when there is none."""
    found = _VERDICT.search(content)
    return found.group(1).lower() if found else "unclear"


def _request(config: JudgeConfig, prompt: str) -> urllib.request.Request:
    body = {
        "model": config.model,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0.0,
        "max_tokens": 8,
    }
    headers = {"Content-Type": "application/json"}
    if api_key := os.environ.get("OPENAI_API_KEY"):
        headers["Authorization"] = f"Bearer {api_key}"
    url = config.endpoint.rstrip("/") + "/chat/completions"
    return urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")


def _is_transient(error: Exception) -> bool:
    # A 4xx (bad model name, bad key) will not heal by retrying; connection trouble and 5xx may.
    return not (isinstance(error, urllib.error.HTTPError) and error.code < 500)


def _post(config: JudgeConfig, prompt: str) -> str:
    """One chat completion at temperature 0; returns the reply text, retrying transient failures."""
    request = _request(config, prompt)
    attempt = 0
    while True:
        try:
            with urllib.request.urlopen(request, timeout=config.timeout_s) as response:
                raw = response.read()
            break
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            if attempt >= config.retries or not _is_transient(exc):
                raise RuntimeError(
                    f"judge endpoint {request.full_url} failed after {attempt + 1} tries: {exc}"
                ) from exc
            time.sleep(0.5 * 2**attempt)
            attempt += 1
    try:
        return json.loads(raw)["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise RuntimeError(
            f"judge endpoint {request.full_url} sent a reply that is not a chat completion"
        ) from exc


def _judge_pair(config: JudgeConfig, train_text: str, bench_text: str) -> Verdict:
    answers = (
        parse_answer(_post(config, judge_prompt(train_text, bench_text))),
        parse_answer(_post(config, judge_prompt(bench_text, train_text))),
    )
    votes = [answer == "yes" for answer in answers]
    return Verdict(same=all(votes) if config.require_both else any(votes), answers=answers)


def judge_pairs(config: JudgeConfig, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
    """Verdicts for (training text, benchmark text) pairs, in input order, asked concurrently."""
    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        futures = [pool.submit(_judge_pair, config, train, bench) for train, bench in pairs]
        return [f.result() for f in tqdm(futures, desc="judge", unit="pair", file=sys.stderr)]
