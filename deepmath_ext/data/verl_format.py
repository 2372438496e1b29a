"""verl 0.9.1 RLHFDataset rows, and the prompt-length limit verl applies to them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepmath_ext.endpoint import is_hub_id, require_hub
from deepmath_ext.templates import PromptTemplate

ABILITY = "math"
REWARD_STYLE = "rule"


def verl_schema() -> Any:
    """The arrow schema of a prepared file: chat-message prompt, data_source, reward_model, extra_info."""
    import pyarrow as pa

    return pa.schema(
        [
            ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
            ("data_source", pa.string()),
            ("ability", pa.string()),
            ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
            (
                "extra_info",
                pa.struct(
                    [
                        ("index", pa.int64()),
                        ("split", pa.string()),
                        ("problem_id", pa.string()),
                        ("difficulty", pa.float64()),
                        ("topic", pa.string()),
                    ]
                ),
            ),
        ]
    )


def verl_row(
    template: PromptTemplate,
    *,
    question: str,
    answer: str,
    data_source: str,
    index: int,
    split: str,
    problem_id: str,
    difficulty: float | None = None,
    topic: str | None = None,
) -> dict[str, Any]:
    """One RLHFDataset row: the template's chat messages (not rendered; verl renders them)."""
    return {
        "prompt": template.messages(question),
        "data_source": data_source,
        "ability": ABILITY,
        "reward_model": {"style": REWARD_STYLE, "ground_truth": answer},
        "extra_info": {
            "index": index,
            "split": split,
            "problem_id": problem_id,
            "difficulty": None if difficulty is None else float(difficulty),
            "topic": topic,
        },
    }


class PromptLengthLimit:
    """Counts prompt tokens exactly as verl's `filter_overlong_prompts` does (template applied)."""

    @classmethod
    def optional(
        cls, tokenizer: Any, template: PromptTemplate, max_tokens: int | None, option: str
    ) -> PromptLengthLimit | None:
        """The limit when `max_tokens` is set (ValueError naming `option` without a tokenizer), else None."""
        if max_tokens is not None and tokenizer is None:
            raise ValueError(f"{option} needs a tokenizer (path or object) to count tokens")
        return cls(tokenizer, template, max_tokens) if max_tokens else None

    def __init__(self, tokenizer: Any, template: PromptTemplate, max_tokens: int) -> None:
        if isinstance(tokenizer, str | Path):
            from transformers import AutoTokenizer

            if is_hub_id(tokenizer):
                require_hub(f"tokenizer {tokenizer}", "pass a local tokenizer folder with --tokenizer")

            tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        self.tokenizer, self.template, self.max_tokens = tokenizer, template, max_tokens

    def too_long(self, question: str, completion: str = "") -> bool:
        """True when the rendered prompt (plus `completion`) has more than `max_tokens` tokens."""
        text = self.template.render(self.tokenizer, question) + completion
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) > self.max_tokens
