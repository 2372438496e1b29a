"""Prompt-style registry, one source of truth for the prompts of training, evaluation and data prep: prompt
templates as data (`templates.json` plus the chat-template text files beside it)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

TEMPLATE_RESOLVER_NAME = "deepmath.template"
_REGISTRY_FILE = "templates.json"
_FAMILIES_FILE = "families.json"
# How a rendered prompt reaches the engine. single: as token ids with the template's own BOS only.
# reference: as the reference evaluation passed it, a string the engine tokenizes again with special
# tokens, which gives tokenizers that add a BOS (R1-Distill) a second one.
BOS_RULES = ("single", "reference")


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt style: chat template (None = the tokenizer's own), system prompt, prefix/suffix, thinking."""

    name: str
    chat_template: str | None = None
    system_prompt: str | None = None
    prefix: str = ""
    suffix: str = ""
    thinking: bool = False
    description: str = ""

    def messages(self, problem: str) -> list[dict[str, str]]:
        """Chat messages for one problem (user turn: prefix + problem + suffix); a system turn if it has one."""
        user = {"role": "user", "content": f"{self.prefix}{problem}{self.suffix}"}
        if self.system_prompt is None:
            return [user]
        return [{"role": "system", "content": self.system_prompt}, user]

    def apply(self, tokenizer: Any) -> Any:
        """Install this template's chat template on `tokenizer` (in place, as verl does) and return it."""
        if self.chat_template is not None:
            tokenizer.chat_template = self.chat_template
        return tokenizer

    def render(self, tokenizer: Any, problem: str, *, bos: str = "single") -> str:
        """The prompt text the model sees for `problem`, ending with the generation prompt."""
        text = render_messages(tokenizer, self.messages(problem), self.chat_template)
        if bos not in BOS_RULES:
            raise ValueError(f"unknown BOS rule {bos!r}; known: {', '.join(BOS_RULES)}")
        if bos == "reference":
            # What tokenizing with special tokens puts in front (R1-Distill: its BOS; Qwen: nothing).
            return tokenizer.decode(tokenizer("", add_special_tokens=True)["input_ids"]) + text
        return text

    def fingerprint(self) -> str:
        """A short hash of everything that changes the rendered prompt (not the description)."""
        fields = dataclasses.asdict(self)
        fields.pop("description")
        blob = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def render_messages(tokenizer: Any, messages: list[dict[str, str]], chat_template: str | None) -> str:
    """Render chat messages with a generation prompt; `chat_template=None` uses the tokenizer's own."""
    return tokenizer.apply_chat_template(
        messages, chat_template=chat_template, tokenize=False, add_generation_prompt=True
    )


@cache
def _load_registry() -> dict[str, PromptTemplate]:
    folder = resources.files(__package__)
    entries = json.loads(folder.joinpath(_REGISTRY_FILE).read_text(encoding="utf-8"))
    registry = {}
    for name, entry in entries.items():
        fields = dict(entry)
        template_file = fields.pop("chat_template_file", None)
        chat_template = folder.joinpath(template_file).read_text(encoding="utf-8") if template_file else None
        registry[name] = PromptTemplate(name=name, chat_template=chat_template, **fields)
    return registry


def list_templates() -> list[str]:
    """Names of the registered templates."""
    return sorted(_load_registry())


def get_template(name: str) -> PromptTemplate:
    """The template called `name`; an unknown name raises ValueError listing the known ones."""
    registry = _load_registry()
    if name not in registry:
        raise ValueError(f"unknown prompt template {name!r}; known templates: {', '.join(sorted(registry))}")
    return registry[name]


def _chat_template_for(name: str) -> str | None:
    return get_template(name).chat_template


def register_template_resolver() -> None:
    """Register `${deepmath.template:NAME}` in OmegaConf: NAME's chat template string, or None."""
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver(TEMPLATE_RESOLVER_NAME, _chat_template_for, replace=True)


@cache
def model_families() -> list[dict[str, str]]:
    """The model-family table: pattern, template and why, in match order."""
    text = resources.files(__package__).joinpath(_FAMILIES_FILE).read_text(encoding="utf-8")
    return json.loads(text)["families"]


def template_for_model(model: str) -> str:
    """The template of the family `model` (a path or hub id) belongs to; an unknown family is refused."""
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    for family in model_families():
        if re.search(family["pattern"], name):
            return family["template"]
    table = "\n".join(f"  {f['pattern']} -> {f['template']} ({f['why']})" for f in model_families())
    raise ValueError(
        f"no template is known for the model {model!r}; pass --template NAME "
        f"({', '.join(list_templates())}). Known model families:\n{table}"
    )
