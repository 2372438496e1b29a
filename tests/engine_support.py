"""Helpers of the engine tests: a primed tiny model, gold-1 data, and `deepmath train --smoke-cpu` runs.

The primed model is the tiny random Qwen2 after under two minutes of SFT (plain transformers on CPU) on prompts
rendered with a recipe's template, each answered both `ok </think> \\boxed{1}` and `... \\boxed{2}`: it boxes
either about half the time, whatever the question.
GRPO on questions whose gold answer is 1 must then move it towards 1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from shared_data import data_path
from trimmed_tokenizer import trim_tokenizer

from deepmath_ext.cpu_smoke.tiny_model import CHAT_END, build_tiny_qwen2
from deepmath_ext.data.prepare import prepare_dataset
from deepmath_ext.reward.recipe import MANAGER_SELECTION
from deepmath_ext.templates import get_template

# Tokenizer folders of the test data (shared_tokenizer finds them).
QWEN_TOKENIZER = "qwen2.5-7b_assembled"
R1_TOKENIZER = "deepseek-r1-distill-qwen_assembled"
ANSWERS = ("1", "2")
# 60 steps left about 8% of samples malformed, and GRPO's updates then drifted the format (40-80% malformed
# at some steps, measured in CI); 200 leave about 2% and the accuracy rises without such dips.
SFT_STEPS = 200
SFT_BATCH = 8
SFT_LR = 3e-3
# Gold-1 questions in the learning check's training data.
GOLD_ONE_COUNT = 200
# verl 0.9.1 logs how well the rollout's and the actor's log-probs agree: a real weight sync keeps it near 1.
CORRELATION_KEY = "training/rollout_actor_probs_pearson_corr"


def shared_tokenizer(name: str) -> Path:
    """A tokenizer folder of the test data (the test skips without it)."""
    return data_path("tokenizers", name, "tokenizer_config.json").parent


def completion(answer: str) -> str:
    """The primed model's answer text (after the template's generation prompt)."""
    return f"ok </think> \\boxed{{{answer}}}"


def gold_one_questions(count: int) -> list[dict[str, Any]]:
    """DeepMath-style rows whose answer is 1, over three difficulty buckets."""
    return [
        {
            "question": f"Compute {k + 1} - {k}.",
            "final_answer": "1",
            "difficulty": (3.0, 6.0, 8.0)[k % 3],
            "topic": "Mathematics -> Algebra -> Arithmetic",
        }
        for k in range(1, count + 1)
    ]


def write_gold_one_data(out_dir: Path, template: str, count: int = GOLD_ONE_COUNT) -> Path:
    """train.parquet of gold-1 questions prepared with `template` (as `deepmath prepare` writes it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    source = out_dir / "gold1.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in gold_one_questions(count)))
    result = prepare_dataset(out_dir, template=template, train=source, val=(), progress=False)
    return result.train_path


def prime_model(tokenizer_dir: Path, template: str, out_dir: Path, seed: int = 0) -> Path:
    """A tiny Qwen2 trained to answer `\\boxed{1}` or `\\boxed{2}` about half the time each."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (out_dir / "primed.json").is_file():
        return out_dir
    chosen = get_template(template)
    build_tiny_qwen2(check_texts_tokenizer(tokenizer_dir, template, out_dir / "tokenizer"), out_dir, layers=2)
    tokenizer = chosen.apply(AutoTokenizer.from_pretrained(out_dir))
    model = AutoModelForCausalLM.from_pretrained(out_dir)
    stop = CHAT_END if CHAT_END in tokenizer.get_vocab() else tokenizer.eos_token
    prompts = [chosen.render(tokenizer, row["question"]) for row in gold_one_questions(64)]
    torch.manual_seed(seed)
    # Fused: one pass over all weights a step (with the full vocabulary, 200 steps took 135 s -> 110 s).
    optimizer = torch.optim.AdamW(model.parameters(), lr=SFT_LR, fused=True)
    model.train()
    per_step = SFT_BATCH // len(ANSWERS)
    for step in range(SFT_STEPS):
        # Every prompt with every answer in one batch: the loss is lowest at each answer equally likely for any
        # question. One answer per prompt taught a question-to-answer rule instead (83% 1s on questions of one
        # parity, measured here), whose balance varied by machine: a CI run started at 0.78, no room to learn.
        chosen_prompts = [prompts[(step * per_step + i) % len(prompts)] for i in range(per_step)]
        batch = [(p, completion(a) + stop) for p in chosen_prompts for a in ANSWERS]
        loss = _completion_loss(model, tokenizer, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.save_pretrained(out_dir)
    (out_dir / "primed.json").write_text(json.dumps({"template": template, "steps": SFT_STEPS}))
    return out_dir


def check_texts(tokenizer: Any, template: str) -> list[str]:
    """Every text of the learning check: its prompts rendered with `template`, and the primed answers."""
    chosen = get_template(template)
    tokenizer = chosen.apply(tokenizer)
    prompts = [chosen.render(tokenizer, row["question"]) for row in gold_one_questions(GOLD_ONE_COUNT)]
    return prompts + [completion(answer) for answer in ANSWERS]


def check_texts_tokenizer(tokenizer_dir: Path, template: str, out_dir: Path) -> Path:
    """The tokenizer of `tokenizer_dir` trimmed to the tokens of the learning check's texts (same splits)."""
    from transformers import AutoTokenizer

    return trim_tokenizer(
        tokenizer_dir, check_texts(AutoTokenizer.from_pretrained(tokenizer_dir), template), out_dir
    )


def _completion_loss(model: Any, tokenizer: Any, pairs: list[tuple[str, str]]) -> Any:
    """Mean cross-entropy of each answer after its prompt, one padded batch; logits only at answer tokens."""
    import torch

    encoded = [
        (
            tokenizer(p, add_special_tokens=False)["input_ids"],
            tokenizer(a, add_special_tokens=False)["input_ids"],
        )
        for p, a in pairs
    ]
    width = max(len(p) + len(a) for p, a in encoded)
    ids = torch.zeros(len(encoded), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, (prompt_ids, answer_ids) in enumerate(encoded):
        ids[row, : len(prompt_ids) + len(answer_ids)] = torch.tensor(prompt_ids + answer_ids)
        mask[row, : len(prompt_ids) + len(answer_ids)] = 1
    hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state
    rows = [hidden[row, len(p) - 1 : len(p) + len(a) - 1] for row, (p, a) in enumerate(encoded)]
    targets = torch.tensor([token for _, answer_ids in encoded for token in answer_ids])
    return torch.nn.functional.cross_entropy(model.lm_head(torch.cat(rows)), targets)


def prompt_length(model_dir: Path, template: str, count: int = GOLD_ONE_COUNT) -> int:
    """Tokens of the longest gold-1 prompt rendered with `template`, plus 8 spare, rounded up to 16."""
    from transformers import AutoTokenizer

    chosen = get_template(template)
    tokenizer = chosen.apply(AutoTokenizer.from_pretrained(model_dir))
    prompts = [chosen.render(tokenizer, row["question"]) for row in gold_one_questions(count)]
    longest = max(len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"])
    return -(-(longest + 8) // 16) * 16


def boxed_one_rate(model_dir: Path, template: str, questions: int = 8, samples: int = 16) -> float:
    """Share of sampled answers (temperature 1, plain transformers) that box 1 among those boxing 1 or 2, over
    `questions` gold-1 questions spread across the training data (most of them never seen in priming)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    chosen = get_template(template)
    tokenizer = chosen.apply(AutoTokenizer.from_pretrained(model_dir))
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    sampling = {"do_sample": True, "temperature": 1.0, "max_new_tokens": 16, "pad_token_id": 0}
    torch.manual_seed(1)
    texts = []
    for row in gold_one_questions(GOLD_ONE_COUNT)[:: GOLD_ONE_COUNT // questions]:
        ids = tokenizer(
            chosen.render(tokenizer, row["question"]), return_tensors="pt", add_special_tokens=False
        )
        with torch.no_grad():
            out = model.generate(ids["input_ids"].repeat(samples, 1), **sampling)
        texts += tokenizer.batch_decode(out[:, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    ones, twos = (sum(f"\\boxed{{{a}}}" in t for t in texts) for a in ANSWERS)
    return ones / max(ones + twos, 1)


def run_smoke(
    recipe: str, workdir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`deepmath train RECIPE --smoke-cpu` in this interpreter, metrics to workdir; its output in one stream
    (`.stdout`), so the stages' order in it is the order they happened in."""
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "VERL_FILE_LOGGER_PATH": str(workdir / "metrics.jsonl"),
        **(env or {}),
    }
    argv = [
        sys.executable,
        "-m",
        "deepmath_ext.cli",
        "train",
        recipe,
        "--smoke-cpu",
        "--smoke-dir",
        str(workdir),
    ]
    return subprocess.run(
        [*argv, *args, "trainer.logger=[console,file]"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        check=False,
        timeout=2400,
    )


def assert_launch_stages(log: str, train_file: Path) -> None:
    """Each stage's own message in a `deepmath train` log, in order: Ray started, the TaskRunner resolved the
    config (which needs the plug-in's ${deepmath.template:...} resolver in that process) and chose the
    deepmath reward manager, and the training and validation data (`train_file` both times) were filtered."""
    import pyarrow.parquet as pq

    filtered = f"filter dataset len: {pq.read_metadata(train_file).num_rows}"
    manager = f"'name': '{MANAGER_SELECTION['name']}'"
    stages = ["ray init kwargs", manager, "Filtering prompts longer than", filtered]
    positions = {stage: log.find(stage) for stage in stages}
    assert -1 not in positions.values() and list(positions.values()) == sorted(positions.values()), positions
    assert log.count(filtered) == 2
    assert not re.search(r"Unsupported interpolation type deepmath|Unknown reward manager", log)


def evaluate_checkpoint(actor: Path, out: Path, *extra: str) -> dict[tuple[str, str, int], dict]:
    """From a verl actor checkpoint to stored samples: verl's merger, then the evaluator (hf backend)."""
    from eval_support import build_data_dir, eval_argv, parse_eval_args, read_generations

    from deepmath_ext.commands import evaluate as evaluate_command

    argv = eval_argv(actor, build_data_dir(out.parent / "benchmarks"), out, *extra)
    assert evaluate_command.run(parse_eval_args(argv)) == 0
    return read_generations(out)


def step_metrics(workdir: Path) -> list[dict[str, Any]]:
    """The per-step metrics verl's file logger wrote, in step order."""
    lines = (workdir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["data"] for line in sorted(lines, key=lambda line: json.loads(line)["step"])]


def rollout_groups(rollout_dir: Path) -> list[list[float]]:
    """Scores of each prompt group trained on, from verl's rollout dumps (`trainer.rollout_data_dir`)."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for dump in sorted(rollout_dir.glob("*.jsonl")):
        for line in dump.read_text().splitlines():
            row = json.loads(line)
            groups[(dump.name, row["input"])].append(float(row["score"]))
    return list(groups.values())
