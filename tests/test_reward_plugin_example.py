"""docs/reward.md's example plug-in, pip-installed from its local path (no network), scores through verl's
real RewardLoopManager in Ray actors, selected with exactly the recipe keys the docs show."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "reward_plugin"
DOCS = REPO / "docs" / "reward.md"

SCORE = r"""
import json, sys
import ray
from omegaconf import OmegaConf
from reward_support import Rollout, rollout_batch, scores_at_last_token, verl_config
from transformers import AutoTokenizer
from verl.experimental.reward_loop import RewardLoopManager
from deepmath_ext.launch.runtime_env import plugins_piece
from deepmath_ext.reward.recipe import manager_overrides, third_party_references

recipe = OmegaConf.create(json.loads(sys.argv[1]))
overrides = [*manager_overrides(), "reward.num_workers=1", "+reward.reward_kwargs.verifier_workers=1"]
base = verl_config(overrides)
OmegaConf.set_struct(base, False)  # a recipe file adds reward.reward_kwargs keys, as the docs' YAML does
config = OmegaConf.merge(base, recipe)
think = "<think>\nWorking.\n</think>\n"
rollouts = [
    Rollout("Two plus two?", think + r"So $\boxed{4}$.", "4"),
    Rollout("Two plus two?", think + "Let me check again. " * 200 + r"So $\boxed{4}$.", "4"),
    Rollout("Two plus two?", think + r"So $\boxed{5}$.", "4"),
]
tokenizer = AutoTokenizer.from_pretrained(config.actor_rollout_ref.model.path)
batch = rollout_batch(tokenizer, rollouts)
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
output = RewardLoopManager(config).compute_rm_score(batch)
print(json.dumps({
    "scores": scores_at_last_token(output, batch),
    "keys": output.meta_info["reward_extra_keys"],
    "length_penalty": [float(x) for x in output.non_tensor_batch["length_penalty"]],
    "shipping": plugins_piece(third_party_references(config)).py_modules,
}))
ray.shutdown()
"""


def docs_recipe() -> dict:
    """The YAML block with which docs/reward.md selects the example term."""
    import yaml

    section = DOCS.read_text().split("## Write a reward plug-in", 1)[1]
    block = re.search(r"then select it:\n\n```yaml\n(.*?)```", section, re.S)
    assert block, "docs/reward.md lost the recipe block of its plug-in example"
    return yaml.safe_load(block.group(1))


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The example installed with pip into a throwaway --target folder (never into the test environment)."""
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(EXAMPLE)],
        check=True,
        cwd=tmp_path_factory.mktemp("pip-build"),
    )  # fmt: skip
    return target


def test_the_example_plugin_scores_through_verls_reward_loop(installed):
    recipe = docs_recipe()
    budget = recipe["reward"]["reward_kwargs"]["length_penalised"]["budget"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(installed), str(REPO / "tests")])}
    done = subprocess.run(
        [sys.executable, "-c", SCORE, json.dumps(recipe)],
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    from deepmath_ext.reward import SCORE_KEYS

    assert result["keys"] == [*SCORE_KEYS, "length_penalty"]
    short, long, wrong = result["length_penalty"]
    assert short == 0.0 and 0.0 < long <= 0.5 and wrong == 0.0
    assert result["scores"] == pytest.approx([1.0, 1.0 - long, 0.0])
    # The long response is about 4,000 characters: its penalty follows the budget the docs set.
    assert long == pytest.approx(
        min(max(len("Let me check again. " * 200) - budget, 0) / budget, 1.0) * 0.5, abs=0.05
    )
    # A Ray job without the distribution gets its module and the metadata that declares the entry point.
    module, metadata = (Path(path) for path in result["shipping"])
    assert module == (installed / "deepmath_length_reward.py").resolve()
    assert metadata.parent == installed.resolve() and metadata.name.endswith(".dist-info")
    assert (
        "length_penalised = deepmath_length_reward:length_penalised"
        in (metadata / "entry_points.txt").read_text()
    )
