"""Which `data_source` values the deepmath reward grades: those our preprocessors write."""

from __future__ import annotations

from functools import cache


@cache
def known_data_sources() -> frozenset[str]:
    """The data_source names `deepmath prepare` writes (DeepMath-103K and the six benchmarks)."""
    from deepmath_ext.data import KNOWN_DATA_SOURCES

    return frozenset(KNOWN_DATA_SOURCES)


def check_data_source(data_source: str) -> None:
    """Raise a ValueError naming an unknown data_source and listing the known ones."""
    known = known_data_sources()
    if data_source not in known:
        raise ValueError(
            f"deepmath reward: unknown data_source {data_source!r}; known data sources: {sorted(known)}. "
            "Prepare the data with `deepmath prepare`, or pick another reward for this source."
        )
