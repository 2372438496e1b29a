"""Published numbers to compare against, kept as data in `baselines.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

BASELINES_FILE = "baselines.json"


@dataclass(frozen=True)
class BaselineRow:
    """One published row: accuracy in percent per benchmark name."""

    model: str
    source: str
    scores: dict[str, float]
    note: str = ""  # tells apart several published rows of one model

    @property
    def display(self) -> str:
        """Row name in tables and legends."""
        return f"{self.model} (published{', ' + self.note if self.note else ''})"

    def matches(self, label: str) -> bool:
        """Whether a run labelled `label` is this model (case-insensitive, hub owner ignored)."""
        return self.model.lower() == label.rsplit("/", 1)[-1].lower()


def _parse(sets: dict, origin: str) -> dict[str, list[BaselineRow]]:
    parsed = {}
    for name, entry in sets.items():
        rows = []
        for i, row in enumerate(entry.get("rows", [])):
            try:
                scores = {k: float(v) for k, v in row["scores"].items()}
                rows.append(BaselineRow(row["model"], row["source"], scores, row.get("note", "")))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{origin}: baseline set {name!r} row {i}: {exc!r}") from exc
        parsed[name] = rows
    return parsed


def baseline_sets() -> dict[str, list[BaselineRow]]:
    """Every baseline set bundled with the package, by name."""
    text = resources.files(__package__).joinpath(BASELINES_FILE).read_text(encoding="utf-8")
    return _parse(json.loads(text), BASELINES_FILE)


def load_baselines(name_or_path: str) -> list[BaselineRow]:
    """A bundled set by name (e.g. `paper`), or every set in a JSON file of the same shape."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        return [
            row
            for rows in _parse(json.loads(path.read_text(encoding="utf-8")), str(path)).values()
            for row in rows
        ]
    sets = baseline_sets()
    if name_or_path not in sets:
        raise ValueError(
            f"unknown baseline {name_or_path!r}; bundled: {', '.join(sets)} (or a path to a .json)"
        )
    return sets[name_or_path]
