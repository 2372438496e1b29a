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
# The whole verdict: one word, optionally in bold and with a full stop. A reasoning judge's thinking comes
# first and ends in </think>; only what follows the last one is its answer.
_VERDICT = re.compile(r"\s*(\*\*)?(yes|no)\.?(\*\*)?\.?\s*", re.IGNORECASE)
THINK_END = "</think>"
FAILED = "failed"


@dataclass(frozen=True)
class JudgeConfig:
    """Where the judge lives and how a pair is decided."""

    endpoint: str  # base URL of an OpenAI-compatible server, e.g. http://localhost:8000/v1
    model: str
    require_both: bool = False  # True: both orders must say YES; False: either order suffices
    workers: int = 8
    timeout_s: float = 60.0
    retries: int = 3
    max_tokens: int = 8  # one word; a judge that thinks first needs room for its thinking


@dataclass(frozen=True)
class Verdict:
    """The judge's answers for one (training, benchmark) pair, asked in both orders."""

    same: bool
    answers: tuple[str, str]  # "yes" / "no" / "failed", for (train first, benchmark first)
    replies: tuple[str, str] = ("", "")  # the judge's raw replies, to show a failed one


def judge_prompt(first: str, second: str) -> str:
    """The judge prompt for one ordered pair of problems."""
    return PROMPT_TEMPLATE.format(first=first.strip(), second=second.strip())


def parse_answer(content: str) -> str:
    """ "yes" or "no" when the reply, after its last </think>, is that one word; else "failed".

    A reply still thinking (a <think> with no </think>: cut by max_tokens) fails too: a judgement that
    cannot be read is never taken for a NO.
    """
    if "<think>" in content and THINK_END not in content:
        return FAILED
    found = _VERDICT.fullmatch(content.rpartition(THINK_END)[2])
    return found.group(2).lower() if found else FAILED


def endpoint(config: JudgeConfig) -> Endpoint:
    """The judge's server, with the package's one retry policy and API-key convention."""
    return Endpoint(config.endpoint, timeout_s=config.timeout_s, max_retries=config.retries, backoff_s=0.5)


def preflight(config: JudgeConfig) -> None:
    """Fail in seconds when the judge's server does not answer, before the n-gram and embed stages run."""
    endpoint(config).preflight("start the judge's server or correct --judge-endpoint")


def _post(server: Endpoint, model: str, prompt: str, max_tokens: int) -> str:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0.0,
        "max_tokens": max_tokens,
    }
    reply = server.post("/chat/completions", body)
    try:
        return reply["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        raise UserError(
            f"judge endpoint {server.display_url}/chat/completions sent a reply that is not a chat completion"
        ) from None


def _judge_pair(config: JudgeConfig, server: Endpoint, train_text: str, bench_text: str) -> Verdict:
    replies = (
        _post(server, config.model, judge_prompt(train_text, bench_text), config.max_tokens),
        _post(server, config.model, judge_prompt(bench_text, train_text), config.max_tokens),
    )
    answers = (parse_answer(replies[0]), parse_answer(replies[1]))
    votes = [answer == "yes" for answer in answers]
    return Verdict(same=all(votes) if config.require_both else any(votes), answers=answers, replies=replies)


def require_verdicts(verdicts: Sequence[Verdict]) -> None:
    """UserError when any reply was no verdict: the pair is undecided, and a guess either way is wrong."""
    failed = [(v, i) for v in verdicts for i, answer in enumerate(v.answers) if answer == FAILED]
    if failed:
        verdict, order = failed[0]
        raise UserError(
            f"the judge gave no verdict in {len(failed)} of {2 * len(verdicts)} replies: a reply must be YES "
            f"or NO after its last {THINK_END} (e.g. {verdict.replies[order][-200:]!r}); a thinking model "
            "needs a larger --judge-max-tokens"
        )


def judge_pairs(config: JudgeConfig, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
    """Verdicts for (training text, benchmark text) pairs, in input order, asked concurrently."""
    server = endpoint(config)
    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        futures = [pool.submit(_judge_pair, config, server, train, bench) for train, bench in pairs]
        verdicts = [f.result() for f in tqdm(futures, desc="judge", unit="pair", file=sys.stderr)]
    require_verdicts(verdicts)
    return verdicts
