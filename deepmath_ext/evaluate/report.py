"""Markdown reports and PNG plots: the DeepMath paper's table layout with intervals, grading policies side by
side, the grader gap, details, and published baselines (kept as data in `baselines.json`).

A run graded under several policies is shown as one row per policy ("label [policy]"): `policy_views`
turns each (run, policy) into the shape of a single-policy run, which the tables and plots read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from deepmath_ext.data.benchmarks import display_name, ordered_benchmarks
from deepmath_ext.files import pyplot, save_png_atomic, write_text_atomic

REPORT_FILE = "report.md"
ACCURACY_PLOT = "accuracy.png"
PASS_AT_K_PLOT = "pass_at_k.png"
FLAG = "†"
# Published numbers were graded by the reference evaluator: they are compared with this policy's column.
BASELINE_POLICY = "reference-eval"
GAP_TEXT_CHARS = 60  # a prediction longer than this is cut in the gap list
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


def policy_views(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One single-policy view per (run, grading policy), labelled `label [policy]` when a run has several."""
    views = []
    for run in runs:
        label, policies = run["run"]["label"], run["run"]["policies"]
        # Published numbers are compared with the reference-eval view, else with the run's first policy.
        compared = BASELINE_POLICY if BASELINE_POLICY in policies else policies[0]
        for policy in policies:
            view_label = label if len(policies) == 1 else f"{label} [{policy}]"
            views.append(
                {
                    "run": {**run["run"], "label": view_label, "model_label": label, "policy": policy},
                    "benchmarks": {
                        name: {**b, **b["policies"][policy]} for name, b in run["benchmarks"].items()
                    },
                    "compared": policy == compared,
                }
            )
    return views


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _cell(bench: dict[str, Any]) -> str:
    lo, hi = bench["ci95"]
    return f"{_pct(bench['avg@n'])} [{_pct(lo)}, {_pct(hi)}]"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _interval_pct(bench: dict[str, Any]) -> tuple[float, float]:
    """A benchmark's 95% interval in percent, the unit published tables use."""
    lo, hi = bench["ci95"]
    return 100 * lo, 100 * hi


def _outside_interval(bench: dict[str, Any], published: float) -> bool:
    lo, hi = _interval_pct(bench)
    return not lo <= published <= hi


def _matched(view: dict[str, Any], baselines: Sequence[BaselineRow]) -> list[BaselineRow]:
    """The published rows of a view's model, when the view is the policy compared with them."""
    return [b for b in baselines if b.matches(view["run"]["model_label"])] if view["compared"] else []


def baseline_flags(runs: Sequence[dict[str, Any]], baselines: Sequence[BaselineRow]) -> list[str]:
    """One line per (run, published row, benchmark) where the published number is outside the run's interval."""
    flags = []
    for run in policy_views(runs):
        label = run["run"]["label"]
        for base in _matched(run, baselines):
            for name in ordered_benchmarks(b for b in base.scores if b in run["benchmarks"]):
                bench = run["benchmarks"][name]
                if _outside_interval(bench, base.scores[name]):
                    lo, hi = _interval_pct(bench)
                    col = display_name(name)
                    flags.append(
                        f"{label} {col}: {_pct(bench['avg@n'])} [{lo:.1f}, {hi:.1f}] "
                        f"vs {base.scores[name]:.1f} published ({base.source})"
                    )
    return flags


def accuracy_table(runs: Sequence[dict[str, Any]], baselines: Sequence[BaselineRow] = ()) -> list[str]:
    """Rows of runs (avg@n with 95% interval) then published rows, in the paper's column order."""
    columns = ordered_benchmarks(
        {b for r in runs for b in r["benchmarks"]} | {b for x in baselines for b in x.scores}
    )
    rows = []
    for run in policy_views(runs):
        label = run["run"]["label"]
        matched = _matched(run, baselines)
        cells = [f"{label} (n={run['run']['n']})"]
        for name in columns:
            bench = run["benchmarks"].get(name)
            if bench is None:
                cells.append("–")
                continue
            off = any(name in b.scores and _outside_interval(bench, b.scores[name]) for b in matched)
            cells.append(_cell(bench) + (f" {FLAG}" if off else ""))
        rows.append(cells)
    for base in baselines:
        rows.append(
            [
                base.display,
                *(f"{base.scores[c]:.1f}" if c in base.scores else "–" for c in columns),
            ]
        )
    return _table(["Model", *map(display_name, columns)], rows)


def _details(metrics: dict[str, Any]) -> list[str]:
    views = policy_views([metrics])
    ks = sorted({int(k) for v in views for b in v["benchmarks"].values() for k in b["pass@k"]})
    rows = []
    for name in ordered_benchmarks(metrics["benchmarks"]):
        for view in views:
            b = view["benchmarks"][name]
            rows.append(
                [
                    display_name(name),
                    view["run"]["policy"],
                    str(b["problems"]),
                    *(_pct(b["pass@k"][str(k)]) if str(k) in b["pass@k"] else "–" for k in ks),
                    *(_pct(b["maj@k"][str(k)]) if str(k) in b["maj@k"] else "–" for k in ks),
                    _pct(b["truncation_rate"]),
                    f"{b['mean_response_tokens']:.0f}",
                    ", ".join(f"{s} {c}" for s, c in b["status_counts"].items()),
                ]
            )
    header = ["Benchmark", "policy", "problems", *(f"pass@{k}" for k in ks), *(f"maj@{k}" for k in ks)]
    return _table([*header, "truncated %", "mean tokens", "grade statuses"], rows)


def _categories(metrics: dict[str, Any]) -> list[str]:
    policies = metrics["run"]["policies"]
    lines = []
    for name in ordered_benchmarks(metrics["benchmarks"]):
        graded = metrics["benchmarks"][name]["policies"]
        for key, values in graded[policies[0]]["categories"].items():
            rows = [
                [
                    value,
                    str(v["problems"]),
                    *(_pct(graded[p]["categories"][key][value]["avg@n"]) for p in policies),
                ]
                for value, v in values.items()
            ]
            lines += [
                "",
                f"### {display_name(name)} by {key}",
                "",
                *_table([key, "problems", *(f"avg@n {p}" for p in policies)], rows),
            ]
    return lines


def policy_table(metrics: dict[str, Any]) -> list[str]:
    """Per benchmark: every policy's avg@n with its interval side by side, and the samples they disagree on."""
    policies = metrics["run"]["policies"]
    gap = _gap_counts(metrics)
    rows = [
        [
            display_name(name),
            *(_cell(metrics["benchmarks"][name]["policies"][p]) for p in policies),
            f"{gap.get(name, 0)} of {metrics['benchmarks'][name]['samples']}",
        ]
        for name in ordered_benchmarks(metrics["benchmarks"])
    ]
    return _table(["Benchmark", *policies, "samples graded differently"], rows)


def _gap_counts(metrics: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for sample in metrics["grader_gap"]:
        counts[sample["benchmark"]] = counts.get(sample["benchmark"], 0) + 1
    return counts


def _gap_cell(text: str | None) -> str:
    if text is None:
        return "–"
    short = text if len(text) <= GAP_TEXT_CHARS else text[:GAP_TEXT_CHARS] + "…"
    return "`" + short.replace("|", "\\|").replace("`", "'").replace("\n", " ") + "`"


def grader_gap_list(metrics: dict[str, Any]) -> list[str]:
    """The samples the policies grade differently: gold, and each policy's prediction and status."""
    policies = metrics["run"]["policies"]
    rows = [
        [
            display_name(s["benchmark"]),
            s["problem_id"],
            str(s["index"]),
            _gap_cell(s["gold"]),
            *(f"{_gap_cell(s['grades'][p]['pred'])} {s['grades'][p]['status']}" for p in policies),
        ]
        for s in metrics["grader_gap"]
    ]
    if not rows:
        return ["None: every policy gives every sample the same grade."]
    return _table(["Benchmark", "problem", "sample", "gold", *policies], rows)


def render_run_report(metrics: dict[str, Any]) -> str:
    """The markdown report of one run."""
    run = metrics["run"]
    sampling = ", ".join(f"{k}={run[k]}" for k in ("temperature", "top_p", "top_k", "max_tokens", "seed"))
    lines = [
        f"# Evaluation of {run['label']}",
        "",
        f"Model `{run['model']}`, backend {run['backend']} ({run['dtype']}), template `{run['template']}` "
        f"({run['template_fingerprint']}), n={run['n']}, {sampling}; verifier {run['verifier']}; "
        f"settings {run['fingerprint']}.",
        "",
        "## Accuracy: avg@n in % (the papers' pass@1), 95% bootstrap interval over problems",
        "",
        *accuracy_table([metrics]),
        "",
        f"## Grading policies: avg@n in % per policy ({', '.join(run['policies'])})",
        "",
        *policy_table(metrics),
        "",
        "## Grader gap: samples the policies grade differently",
        "",
        *grader_gap_list(metrics),
        "",
        "## Details (%, truncated = finish_reason length)",
        "",
        *_details(metrics),
        *_categories(metrics),
    ]
    return "\n".join(lines) + "\n"


def render_comparison(runs: Sequence[dict[str, Any]], baselines: Sequence[BaselineRow] = ()) -> str:
    """Side-by-side markdown of several runs and published rows, with out-of-interval differences flagged."""
    flags = baseline_flags(runs, baselines)
    lines = [
        "# Evaluation comparison",
        "",
        "avg@n in % with 95% bootstrap intervals over problems. "
        f"{FLAG}: a published number for the same model lies outside the run's interval.",
        "",
        *accuracy_table(runs, baselines),
    ]
    if baselines:
        lines += [
            "",
            f"Published numbers were graded by the reference evaluator, so each run's {BASELINE_POLICY} "
            f"row is compared with them ({FLAG}), or its first policy when it was not graded by {BASELINE_POLICY}.",
            "",
            "## Differences larger than the interval",
            "",
            *([f"- {f}" for f in flags] or ["None."]),
        ]
    lines += ["", "## Runs", ""]
    lines += [
        f"- {r['run']['label']}: `{r['run']['model']}`, settings {r['run']['fingerprint']}, "
        f"verifier {r['run'].get('verifier', 'unknown')}"
        for r in runs
    ]
    verifiers = {r["run"].get("verifier") for r in runs}
    if len(verifiers) > 1:
        lines += [
            "",
            f"Note: these runs were graded by different verifier versions ({', '.join(map(str, sorted(verifiers, key=str)))}); "
            "`deepmath regrade` them with one verifier before comparing.",
        ]
    if baselines:
        lines += ["", "## Published rows", "", *(f"- {b.display}: {b.source}" for b in baselines)]
    return "\n".join(lines) + "\n"


def write_report(
    folder: Path, text: str, runs: Sequence[dict[str, Any]], baselines: Sequence[BaselineRow] = ()
) -> None:
    """Write `text` as `report.md` and the accuracy and pass@k plots of `runs` into `folder`."""
    write_text_atomic(folder / REPORT_FILE, text)
    views = policy_views(runs)
    plot_accuracy(views, baselines, folder / ACCURACY_PLOT)
    plot_pass_at_k(views, folder / PASS_AT_K_PLOT)


def write_run_report(run_dir: Path, metrics: dict[str, Any]) -> None:
    """Write `report.md` and the plots of one run."""
    write_report(run_dir, render_run_report(metrics), [metrics])


def plot_accuracy(runs: Sequence[dict[str, Any]], baselines: Sequence[BaselineRow], path: Path) -> None:
    """Grouped bars of avg@n per benchmark with 95% intervals; published numbers as markers."""
    plt = pyplot()
    names = ordered_benchmarks({b for r in runs for b in r["benchmarks"]})
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 4))
    for i, run in enumerate(runs):
        xs = [
            j + (i - (len(runs) - 1) / 2) * width for j, name in enumerate(names) if name in run["benchmarks"]
        ]
        benches = [run["benchmarks"][name] for name in names if name in run["benchmarks"]]
        acc = [100 * b["avg@n"] for b in benches]
        err = [
            [a - 100 * b["ci95"][0] for a, b in zip(acc, benches, strict=True)],
            [100 * b["ci95"][1] - a for a, b in zip(acc, benches, strict=True)],
        ]
        ax.bar(xs, acc, width, yerr=err, capsize=3, label=run["run"]["label"])
    for base in baselines:
        points = [(j, base.scores[name]) for j, name in enumerate(names) if name in base.scores]
        if points:
            ax.plot(*zip(*points, strict=True), marker="D", linestyle="none", label=base.display)
    ax.set_xticks(range(len(names)), [display_name(n) for n in names])
    ax.set_ylabel("avg@n accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7)
    save_png_atomic(fig, path)


def plot_pass_at_k(runs: Sequence[dict[str, Any]], path: Path) -> None:
    """pass@k against k (log scale), one panel per benchmark, one line per run."""
    plt = pyplot()
    names = ordered_benchmarks({b for r in runs for b in r["benchmarks"]})
    fig, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 3), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for run in runs:
            if name in run["benchmarks"]:
                curve = sorted((int(k), 100 * v) for k, v in run["benchmarks"][name]["pass@k"].items())
                ax.plot(*zip(*curve, strict=True), marker="o", label=run["run"]["label"])
        ax.set_xscale("log", base=2)
        ax.set_title(display_name(name))
        ax.set_xlabel("k")
    axes[0][0].set_ylabel("pass@k (%)")
    axes[0][-1].legend(fontsize=7)
    save_png_atomic(fig, path)


def plot_curve(curve: dict[str, Any], path: Path) -> None:
    """avg@n (%) against the training step, one line per benchmark, with its 95% interval as a band."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in curve["benchmarks"].items():
        steps = [p["step"] for p in points]
        ax.plot(steps, [100 * p["avg@n"] for p in points], marker="o", label=display_name(name))
        ax.fill_between(
            steps, [100 * p["ci95"][0] for p in points], [100 * p["ci95"][1] for p in points], alpha=0.15
        )
    ax.set_xlabel("training step")
    ax.set_ylabel("avg@n accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7)
    save_png_atomic(fig, path)
