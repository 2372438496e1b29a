"""From training checkpoints to numbers: real verl FSDP actor checkpoints, merged by verl's merger, evaluated.

The checkpoints are made for real (tests/verl_checkpoints.py: FSDP2 over gloo in 2 processes, saved by
verl's FSDPCheckpointManager), not by `deepmath train`; the evaluation uses the hf backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eval_support import SUBSET_ROWS, build_data_dir, eval_argv, parse_eval_args, read_generations

from deepmath_ext.commands import evaluate as evaluate_command
from deepmath_ext.evaluate.series import MERGE_RECORD, MERGED_DIR, merged_model, resolve_models

STEPS = 2
# verl's merger runs in a subprocess per merge (about 20 s alone, minutes on a busy 2-core machine). The module
# merges three times, the fewest its checks need: each step once (cached on disk for the other tests), and
# step 2 again after a shard is touched. Running the two steps' merges side by side saved nothing here.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def train_run(eval_tiny_model, tmp_path_factory) -> Path:
    """RUN/global_step_{1,2}/actor: verl FSDP checkpoints of the tiny model, 2 shards each."""
    run = tmp_path_factory.mktemp("checkpoints") / "tiny-grpo"
    script = Path(__file__).with_name("verl_checkpoints.py")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", str(script)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*command, str(eval_tiny_model), str(run), str(STEPS)], capture_output=True, env=env
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return run


def test_merged_checkpoint_holds_the_trained_weights_and_is_cached(train_run):
    import torch
    from safetensors.torch import load_file

    actor = train_run / "global_step_2" / "actor"
    assert sorted(p.name for p in actor.glob("model_world_size_2_rank_*.pt")) == [
        "model_world_size_2_rank_0.pt", "model_world_size_2_rank_1.pt",
    ]  # fmt: skip
    merged = merged_model(actor)
    assert merged == actor.parent / MERGED_DIR
    weights = load_file(merged / "model.safetensors")
    reference = torch.load(actor.parent / "reference.pt")
    for name, tensor in weights.items():
        assert torch.equal(tensor, reference[name].to(tensor.dtype)), name  # the merger saves bfloat16
    assert (merged / "tokenizer.json").is_file()

    record = (merged / MERGE_RECORD).read_text()
    assert merged_model(actor) == merged and (merged / MERGE_RECORD).read_text() == record  # cached
    shard = actor / "model_world_size_2_rank_1.pt"
    os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 10**9))  # as a re-save would
    merged_model(actor)
    assert json.loads((merged / MERGE_RECORD).read_text())["fingerprint"] != json.loads(record)["fingerprint"]
    assert not list(actor.parent.glob(f".{MERGED_DIR}*"))  # no work folder left behind


def test_eval_of_a_checkpoint_glob_writes_a_curve(train_run, tmp_path, capsys):
    out = tmp_path / "curve"
    argv = eval_argv(Path(f"{train_run}/global_step_*"), build_data_dir(tmp_path / "data"), out)
    assert evaluate_command.run(parse_eval_args(argv)) == 0
    assert "one run folder per model" in capsys.readouterr().out
    for step in range(1, STEPS + 1):
        metrics = json.loads((out / f"step_{step}" / "metrics.json").read_text())
        assert metrics["run"]["label"] == f"tiny-grpo step {step}"
        assert len(read_generations(out / f"step_{step}")) == 2 * sum(SUBSET_ROWS.values())
        manifest = json.loads((out / f"step_{step}" / "manifest.json").read_text())
        assert manifest["model"] == str(train_run / f"global_step_{step}" / MERGED_DIR)
    curve = json.loads((out / "curve.json").read_text())
    assert curve["steps"] == [1, 2] and set(curve["benchmarks"]) == set(SUBSET_ROWS)
    assert curve["policy"] == "strict"  # the runs' first grading policy
    for name, points in curve["benchmarks"].items():
        for point in points:
            step_metrics = json.loads((out / f"step_{point['step']}" / "metrics.json").read_text())
            graded = step_metrics["benchmarks"][name]["policies"][curve["policy"]]
            assert point["avg@n"] == graded["avg@n"] and point["ci95"] == graded["ci95"]
    report = (out / "report.md").read_text()
    assert (
        f"## avg@n (%) against the training step ({curve['policy']} grading)" in report
        and "| Step | MATH500 | AIME24 |" in report
    )
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_model_lists_and_globs_resolve_in_step_order(train_run, tmp_path):
    specs = resolve_models(f"{train_run}/global_step_2, {train_run}/global_step_1/actor")
    assert [(s.step, s.name) for s in specs] == [(1, "step_1"), (2, "step_2")]
    assert specs[1].actor == train_run / "global_step_2" / "actor"
    assert resolve_models("Qwen/Qwen2.5-Math-7B")[0].actor is None  # a hub id stays a hub id
    with pytest.raises(ValueError, match="matches no file or folder"):
        resolve_models(f"{tmp_path}/global_step_*")
