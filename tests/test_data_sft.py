"""`deepmath export-sft`: verified r1 solutions to verl's multiturn SFT format, every drop counted."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from omegaconf import OmegaConf
from transformers import AutoTokenizer
from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

from deepmath_ext.data.deepmath import SOLUTION_FIELDS
from deepmath_ext.data.sft_export import export_sft
from deepmath_ext.files import iter_row_file
from deepmath_ext.verify import grade

SAMPLE = Path(__file__).resolve().parents[1] / "deepmath_ext" / "samples" / "deepmath_sample.jsonl"


def test_only_verified_distinct_solutions_are_kept(tmp_path: Path):
    raw = list(iter_row_file(SAMPLE))
    result = export_sft(SAMPLE, tmp_path, progress=False, workers=1)
    report = result.report
    # Independently: which solutions does the verifier accept, and which repeat an earlier one in the row?
    wrong = {
        f"{i}:{f}"
        for i, r in enumerate(raw)
        for f in SOLUTION_FIELDS
        if not grade(r[f], r["final_answer"]).correct
    }
    repeats = {f"{i}:{f}" for i, r in enumerate(raw) for j, f in enumerate(SOLUTION_FIELDS)
               if r[f] in [r[g] for g in SOLUTION_FIELDS[:j]]}  # fmt: skip
    assert wrong and repeats  # the sample has both on purpose
    assert set(report.dropped["rejected_wrong"]) == wrong
    assert set(report.dropped["duplicate_solution"]) == repeats
    assert report.written == 3 * len(raw) - len(wrong) - len(repeats)
    rows = pq.read_table(result.path).to_pylist()
    assert len(rows) == report.written
    first = rows[0]
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]  # r1-distill: no system turn
    assert first["messages"][1]["content"] == raw[0][first["extra_info"]["solution_field"]]
    assert json.loads(result.report_path.read_text())["grade_statuses"]["wrong"] == len(wrong)


def test_token_limit_drops_long_solutions(tmp_path: Path, tokenizers_dir: Path):
    tokenizer = AutoTokenizer.from_pretrained(tokenizers_dir / "deepseek-r1-distill-qwen_assembled")
    full = export_sft(SAMPLE, tmp_path / "full", progress=False, workers=1).report
    cut = export_sft(SAMPLE, tmp_path / "cut", max_tokens=120, tokenizer=tokenizer, progress=False, workers=1)
    assert 0 < len(cut.report.dropped["too_long"]) < full.written
    assert cut.report.written == full.written - len(cut.report.dropped["too_long"])


def test_export_loads_in_verls_multiturn_sft_dataset(tmp_path: Path, tokenizers_dir: Path):
    result = export_sft(SAMPLE, tmp_path, progress=False, workers=1)
    tokenizer = AutoTokenizer.from_pretrained(tokenizers_dir / "deepseek-r1-distill-qwen_assembled")
    config = OmegaConf.create({"max_length": 2048, "truncation": "error", "messages_key": "messages"})
    dataset = MultiTurnSFTDataset(parquet_files=[str(result.path)], tokenizer=tokenizer, config=config)
    assert len(dataset) == result.report.written
    item = dataset[0]
    assert int(item["loss_mask"].sum()) > 0  # the assistant turn is trained on
