"""The engine tests' trimmed tokenizers split the learning check's texts exactly as the recipe's tokenizer does."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_support import QWEN_TOKENIZER, R1_TOKENIZER, check_texts, shared_tokenizer
from trimmed_tokenizer import split_differently, trim_tokenizer

pytestmark = pytest.mark.slow  # loads the full 151,936-token tokenizers (seconds each)


@pytest.mark.parametrize(("tokenizer", "template"), [(R1_TOKENIZER, "r1-distill"), (QWEN_TOKENIZER, "orz")])
def test_trimmed_tokenizer_splits_the_check_texts_like_the_full_one(
    tokenizer: Path, template: str, tmp_path: Path
) -> None:
    from transformers import AutoTokenizer

    source = shared_tokenizer(tokenizer)
    full = AutoTokenizer.from_pretrained(source)
    texts = check_texts(full, template)
    small = AutoTokenizer.from_pretrained(trim_tokenizer(source, texts, tmp_path))
    assert split_differently(source, tmp_path, texts) == []
    assert len(small) < 1000 < len(full)
    # Special tokens survive under their names, and a text the trim never saw still round-trips through bytes.
    assert set(small.get_added_vocab()) == set(full.get_added_vocab())
    assert small.eos_token == full.eos_token and small.eos_token_id < len(small)
    unseen = "Zebra ∑ 日本 \\int_0^1 x^2\\,dx"
    assert small.decode(small(unseen, add_special_tokens=False)["input_ids"]) == unseen
