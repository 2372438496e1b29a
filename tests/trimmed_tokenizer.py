"""A byte-level BPE tokenizer cut down to the tokens a set of texts uses, for the engine tests' tiny models.

Over the full 151,936-token Qwen vocabulary, logits (sampling, log-probs, entropy, the tied embedding's
gradient) dominate every CPU step of a 2-layer model with hidden size 128. The trimmed tokenizer keeps the
256 byte symbols, every special token, and every token the given texts are split into together with the merges
that build it, in their original order. BPE applies the lowest-ranked applicable merge first, and every merge
used on those texts survives with its relative rank, so the texts are split into exactly the same token
strings (`split_differently` checks it); any other text still encodes, from bytes and the kept merges.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The tokenizer files a trimmed copy writes; everything else in the folder (PROVENANCE.md, ...) is not copied.
VOCAB, MERGES, CONFIG = "vocab.json", "merges.txt", "tokenizer_config.json"


def _read_merges(folder: Path) -> list[tuple[str, str]]:
    lines = (folder / MERGES).read_text(encoding="utf-8").splitlines()
    return [tuple(line.split(" ")) for line in lines if line and not line.startswith("#version")]


def _closure(tokens: set[str], built_by: dict[str, tuple[str, str]]) -> set[str]:
    """`tokens` and every token their merges are built from, recursively."""
    kept, todo = set(), list(tokens)
    while todo:
        token = todo.pop()
        if token not in kept:
            kept.add(token)
            todo.extend(built_by.get(token, ()))
    return kept


def trim_tokenizer(source: Path, texts: Iterable[str], out_dir: Path) -> Path:
    """Write to `out_dir` the tokenizer of `source` restricted to what `texts` use; return `out_dir`."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    specials = set(tokenizer.get_added_vocab())
    used = {token for text in texts for token in tokenizer.tokenize(text)} - specials
    vocab: dict[str, int] = json.loads((source / VOCAB).read_text(encoding="utf-8"))
    merges = _read_merges(source)
    built_by = {a + b: (a, b) for a, b in merges}
    base = {token for token in vocab if token not in built_by}  # the 256 byte symbols
    kept = _closure(used, built_by) | base
    order = sorted(kept, key=vocab.__getitem__)
    out_dir.mkdir(parents=True, exist_ok=True)
    new_vocab = {token: i for i, token in enumerate(order)}
    (out_dir / VOCAB).write_text(json.dumps(new_vocab, ensure_ascii=False), encoding="utf-8")
    kept_merges = [f"{a} {b}" for a, b in merges if a + b in kept]
    (out_dir / MERGES).write_text("#version: 0.2\n" + "\n".join(kept_merges) + "\n", encoding="utf-8")
    (out_dir / CONFIG).write_text(json.dumps(_renumbered_config(source, len(order)), ensure_ascii=False))
    for extra in ("generation_config.json",):
        if (source / extra).is_file():
            shutil.copy(source / extra, out_dir / extra)
    return out_dir


def _renumbered_config(source: Path, first_id: int) -> dict[str, Any]:
    """tokenizer_config.json with the special tokens numbered from `first_id`, in their original order."""
    config = json.loads((source / CONFIG).read_text(encoding="utf-8"))
    added = sorted(config.get("added_tokens_decoder", {}).items(), key=lambda item: int(item[0]))
    config["added_tokens_decoder"] = {str(first_id + i): spec for i, (_, spec) in enumerate(added)}
    return config


def split_differently(source: Path, trimmed: Path, texts: Iterable[str]) -> list[str]:
    """The texts that `trimmed` splits differently from `source` (empty when the trim is faithful)."""
    from transformers import AutoTokenizer

    full, small = AutoTokenizer.from_pretrained(source), AutoTokenizer.from_pretrained(trimmed)
    return [text for text in texts if full.tokenize(text) != small.tokenize(text)]
