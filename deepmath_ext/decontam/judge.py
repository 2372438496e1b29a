"""Stage 3: an LLM behind an OpenAI-compatible endpoint decides whether two problems are the same."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources

from tqdm import tqdm

from deepmath_ext.endpoint import Endpoint
from deepmath_ext.errors import UserError

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


def endpoint(config: JudgeConfig) -> Endpoint:
    """The judge's server, with the package's one retry policy and API-key convention."""
    return Endpoint(config.endpoint, timeout_s=config.timeout_s, max_retries=config.retries, backoff_s=0.5)


def preflight(config: JudgeConfig) -> None:
    """Fail in seconds when the judge's server does not answer, before the n-gram and embed stages run."""
    endpoint(config).preflight("start the judge's server or correct --judge-endpoint")


def _post(server: Endpoint, model: str, prompt: str) -> str:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0.0,
        "max_tokens": 8,
    }
    reply = server.post("/chat/completions", body)
    try:
        return reply["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        raise UserError(
            f"judge endpoint {server.base_url}/chat/completions sent a reply that is not a chat completion"
        ) from None


def _judge_pair(config: JudgeConfig, server: Endpoint, train_text: str, bench_text: str) -> Verdict:
    answers = (
        parse_answer(_post(server, config.model, judge_prompt(train_text, bench_text))),
        parse_answer(_post(server, config.model, judge_prompt(bench_text, train_text))),
    )
    votes = [answer == "yes" for answer in answers]
    return Verdict(same=all(votes) if config.require_both else any(votes), answers=answers)


def judge_pairs(config: JudgeConfig, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
    """Verdicts for (training text, benchmark text) pairs, in input order, asked concurrently."""
    server = endpoint(config)
    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        futures = [pool.submit(_judge_pair, config, server, train, bench) for train, bench in pairs]
        return [f.result() for f in tqdm(futures, desc="judge", unit="pair", file=sys.stderr)]
