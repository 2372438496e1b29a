"""Prompt templates rendered with the real tokenizers of the test data against strings written out here."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from transformers import AutoTokenizer

from deepmath_ext.templates import (
    get_template,
    list_templates,
    register_template_resolver,
    render_messages,
    template_for_model,
)

PROBLEM = "What is $1+1$?"
QWEN = "qwen2.5-7b_assembled"
R1 = "deepseek-r1-distill-qwen_assembled"
BOS = "<｜begin▁of▁sentence｜>"
ORZ_PREAMBLE = (
    "A conversation between User and Assistant. The User asks a question, and the Assistant solves it. "
    "The Assistant first thinks about the reasoning process in the mind and then provides the User with "
    "the answer. The reasoning process is enclosed within <think> </think> and answer is enclosed within "
    "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> "
    "<answer> answer here </answer>. "
)
ORZ_USER = (
    "User: You must put your answer inside <answer> </answer> tags, i.e., <answer> answer here </answer>. "
    "And your final answer will be extracted automatically by the \\boxed{} tag.\n"
    "This is the problem:\n"
)
QWEN_DEFAULT_SYSTEM = (
    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
)
BOXED_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
DEEPSCALER_SUFFIX = " Let's think step by step and output the final answer within \\boxed{}."

# (template, tokenizer folder) -> the exact prompt text the model must see.
EXPECTED = {
    ("orz", QWEN): ORZ_PREAMBLE + ORZ_USER + PROBLEM + "\nAssistant: <think>",
    ("orz", R1): BOS + ORZ_PREAMBLE + ORZ_USER + PROBLEM + "\nAssistant: <think>",
    ("qwen-boxed", QWEN): (
        f"<|im_start|>system\n{BOXED_SYSTEM}<|im_end|>\n"
        f"<|im_start|>user\n{PROBLEM}<|im_end|>\n<|im_start|>assistant\n"
    ),
    ("r1-distill", R1): f"{BOS}<｜User｜>{PROBLEM}<｜Assistant｜><think>\n",
    ("default", QWEN): f"{QWEN_DEFAULT_SYSTEM}<|im_start|>user\n{PROBLEM}<|im_end|>\n<|im_start|>assistant\n",
    ("default", R1): f"{BOS}<｜User｜>{PROBLEM}<｜Assistant｜><think>\n",
    # No OpenMath-Nemotron tokenizer here: the R1-distill one stands in for "the tokenizer's own template".
    ("omn", R1): f"{BOS}<｜User｜>{PROBLEM}<｜Assistant｜><think>\n",
    ("deepscaler", R1): f"{BOS}<｜User｜>{PROBLEM}{DEEPSCALER_SUFFIX}<｜Assistant｜><think>\n",
}


@pytest.fixture(scope="module")
def tokenizers(tokenizers_dir: Path) -> dict[str, object]:
    return {name: AutoTokenizer.from_pretrained(tokenizers_dir / name) for name in (QWEN, R1)}


@pytest.mark.parametrize(("template_name", "tokenizer_name"), sorted(EXPECTED))
def test_render_matches_expected_prompt(tokenizers, template_name, tokenizer_name):
    rendered = get_template(template_name).render(tokenizers[tokenizer_name], PROBLEM)
    assert rendered == EXPECTED[(template_name, tokenizer_name)]


def test_every_registered_template_has_an_expected_rendering():
    assert {name for name, _ in EXPECTED} == set(list_templates())


def test_orz_template_is_deepmaths_reference_text(data_root: Path):
    import json

    reference = json.loads(
        (data_root / "tokenizers/chat_templates/deepmath_utils_chat_template.json").read_text()
    )["CHAT_TEMPLATE"]
    assert get_template("orz").chat_template == reference["orz"]
    assert get_template("r1-distill").chat_template == reference["r1-distill-qwen"]


def test_orz_drops_a_system_turn(tokenizers):
    orz = get_template("orz")
    messages = [{"role": "system", "content": "IGNORED SYSTEM"}, *orz.messages(PROBLEM)]
    assert render_messages(tokenizers[QWEN], messages, orz.chat_template) == EXPECTED[("orz", QWEN)]


def test_messages_have_a_system_turn_only_when_the_template_has_one():
    assert get_template("orz").messages(PROBLEM) == [{"role": "user", "content": PROBLEM}]
    assert get_template("qwen-boxed").messages(PROBLEM) == [
        {"role": "system", "content": BOXED_SYSTEM},
        {"role": "user", "content": PROBLEM},
    ]
    assert get_template("deepscaler").messages(PROBLEM)[-1]["content"] == PROBLEM + DEEPSCALER_SUFFIX


def test_thinking_flags_follow_the_generation_prompt():
    thinking = {name: get_template(name).thinking for name in list_templates()}
    assert thinking == {
        "orz": True,
        "r1-distill": True,
        "deepscaler": True,
        "omn": True,
        "qwen-boxed": False,
        "default": False,
    }


def test_the_chat_template_installed_as_verl_does_renders_the_same(tokenizers_dir: Path):
    tokenizer = AutoTokenizer.from_pretrained(tokenizers_dir / QWEN)
    assert get_template("default").chat_template is None  # keeps the tokenizer's own
    tokenizer.chat_template = get_template(
        "orz"
    ).chat_template  # actor_rollout_ref.model.custom_chat_template
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROBLEM}], tokenize=False, add_generation_prompt=True
    )
    assert rendered == EXPECTED[("orz", QWEN)]


def test_unknown_template_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown prompt template 'nope'.*orz.*qwen-boxed"):
        get_template("nope")


def test_fingerprints_are_stable_across_processes_and_distinct():
    prints = {name: get_template(name).fingerprint() for name in list_templates()}
    assert len(set(prints.values())) == len(prints)
    # A fresh interpreter re-reads templates.json and the .jinja files: the same prints, so stored runs match.
    code = (
        "import json; from deepmath_ext.templates import get_template, list_templates; "
        "print(json.dumps({n: get_template(n).fingerprint() for n in list_templates()}))"
    )
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(fresh.stdout) == prints


@pytest.mark.parametrize("field", ["chat_template", "system_prompt", "prefix", "suffix", "thinking"])
def test_fingerprint_follows_every_prompt_field_but_not_the_description(field: str):
    orz = get_template("orz")
    changed = {"thinking": not orz.thinking}.get(field, "x")
    assert dataclasses.replace(orz, **{field: changed}).fingerprint() != orz.fingerprint()
    assert dataclasses.replace(orz, description="other words").fingerprint() == orz.fingerprint()


@pytest.mark.parametrize(
    ("model", "template"),
    [
        ("zwhe99/DeepMath-Zero-7B", "orz"),
        ("Qwen/Qwen2.5-7B", "orz"),
        ("zwhe99/DeepMath-Zero-Math-7B", "qwen-boxed"),
        ("Qwen/Qwen2.5-Math-7B", "qwen-boxed"),
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "r1-distill"),
        ("/ckpt/DeepMath-1.5B/", "r1-distill"),
        ("nvidia/OpenMath-Nemotron-1.5B", "omn"),
    ],
)
def test_template_by_model_family(model: str, template: str):
    assert template_for_model(model) == template
    assert template in list_templates()


def test_a_model_of_no_known_family_is_refused_with_the_table():
    with pytest.raises(
        ValueError, match=r"no template is known for the model 'Qwen/Qwen2.5-7B-Instruct'"
    ) as err:
        template_for_model("Qwen/Qwen2.5-7B-Instruct")
    assert "--template" in str(err.value) and "r1-distill (DeepSeek-R1-Distill-Qwen" in str(err.value)


def test_reference_bos_doubles_only_the_r1_distill_bos(tokenizers_dir: Path):
    r1 = AutoTokenizer.from_pretrained(tokenizers_dir / R1)
    single = get_template("r1-distill").render(r1, PROBLEM)
    reference = get_template("r1-distill").render(r1, PROBLEM, bos="reference")
    ids = r1(reference, add_special_tokens=False)["input_ids"]
    assert ids[:2] == [r1.bos_token_id] * 2 and ids[2] != r1.bos_token_id
    assert r1(single, add_special_tokens=False)["input_ids"] == ids[1:]
    # The reference's path: the engine tokenizes the rendered string again, with special tokens.
    assert r1(single, add_special_tokens=True)["input_ids"] == ids
    qwen = AutoTokenizer.from_pretrained(tokenizers_dir / QWEN)
    boxed = get_template("qwen-boxed")
    assert boxed.render(qwen, PROBLEM, bos="reference") == boxed.render(qwen, PROBLEM)  # Qwen adds no BOS
    with pytest.raises(ValueError, match="unknown BOS rule 'double'"):
        boxed.render(qwen, PROBLEM, bos="double")


def test_omegaconf_resolver_returns_the_chat_template_or_none():
    register_template_resolver()
    cfg = OmegaConf.create({"orz": "${deepmath.template:orz}", "own": "${deepmath.template:default}"})
    assert cfg.orz == get_template("orz").chat_template
    assert cfg.own is None
    bad = OmegaConf.create({"bad": "${deepmath.template:nope}"})
    with pytest.raises(Exception, match="unknown prompt template"):
        OmegaConf.to_container(bad, resolve=True)
