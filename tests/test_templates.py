"""Prompt templates rendered with the real tokenizers in ../shared against strings written out here."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf
from transformers import AutoTokenizer

from deepmath_ext.templates import get_template, list_templates, register_template_resolver
from deepmath_ext.templates.registry import render_messages

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


def test_orz_template_is_deepmaths_reference_text(shared_dir: Path):
    import json

    reference = json.loads(
        (shared_dir / "data/tokenizers/chat_templates/deepmath_utils_chat_template.json").read_text()
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
        "qwen-boxed": False,
        "default": False,
    }


def test_apply_installs_the_chat_template_like_verl(tokenizers_dir: Path):
    tokenizer = AutoTokenizer.from_pretrained(tokenizers_dir / QWEN)
    own = tokenizer.chat_template
    assert get_template("default").apply(tokenizer).chat_template == own
    get_template("orz").apply(tokenizer)
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROBLEM}], tokenize=False, add_generation_prompt=True
    )
    assert rendered == EXPECTED[("orz", QWEN)]


def test_unknown_template_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown prompt template 'nope'.*orz.*qwen-boxed"):
        get_template("nope")


def test_fingerprints_are_stable_and_distinct():
    prints = {name: get_template(name).fingerprint() for name in list_templates()}
    assert len(set(prints.values())) == len(prints)
    assert prints["orz"] == get_template("orz").fingerprint()


def test_omegaconf_resolver_returns_the_chat_template_or_none():
    register_template_resolver()
    cfg = OmegaConf.create({"orz": "${deepmath.template:orz}", "own": "${deepmath.template:default}"})
    assert cfg.orz == get_template("orz").chat_template
    assert cfg.own is None
    bad = OmegaConf.create({"bad": "${deepmath.template:nope}"})
    with pytest.raises(Exception, match="unknown prompt template"):
        OmegaConf.to_container(bad, resolve=True)
