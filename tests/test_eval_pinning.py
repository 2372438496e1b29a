"""A run is pinned to what its model is, not how it is spelled, and only once a sample is stored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eval_support import build_data_dir, config_from_argv, eval_argv

from deepmath_ext.cli import main
from deepmath_ext.errors import UserError
from deepmath_ext.evaluate import manifest as manifest_module
from deepmath_ext.evaluate.manifest import folder_fingerprint, model_identity
from deepmath_ext.evaluate.runner import run_eval

pytestmark = pytest.mark.slow


def _resaved(model: Path, dest: Path) -> Path:
    """A copy of `model` as a later save of the same training run writes it: same files and sizes, new values."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(model, dest)
    weights = dest / "model.safetensors"
    tensors = {name: t * 1.001 for name, t in load_file(weights).items()}
    save_file(tensors, weights, metadata={"format": "pt"})
    assert weights.stat().st_size == (model / "model.safetensors").stat().st_size
    return dest


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return build_data_dir(tmp_path_factory.mktemp("benchmarks"))


def test_any_spelling_of_one_folder_has_one_identity(eval_tiny_model, monkeypatch):
    monkeypatch.chdir(eval_tiny_model.parent)
    name = eval_tiny_model.name
    identities = [model_identity(m) for m in (name, f"{name}/", f"./{name}", str(eval_tiny_model))]
    assert all(i == identities[0] for i in identities) and set(identities[0]) == {"fingerprint"}


def test_a_new_save_or_a_new_tokenizer_file_changes_the_fingerprint(eval_tiny_model, tmp_path):
    original = folder_fingerprint(eval_tiny_model)
    assert folder_fingerprint(_resaved(eval_tiny_model, tmp_path / "resaved")) != original
    touched = shutil.copytree(eval_tiny_model, tmp_path / "tokenizer-edit")
    config = json.loads((touched / "tokenizer_config.json").read_text())
    (touched / "tokenizer_config.json").write_text(json.dumps({**config, "model_max_length": 7}))
    assert folder_fingerprint(touched) != original
    (shutil.copytree(eval_tiny_model, tmp_path / "hidden") / ".lock").write_text("x")
    assert folder_fingerprint(tmp_path / "hidden") == original  # hidden files (locks, caches) do not count


def test_large_files_are_hashed_by_sampled_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(manifest_module, "WHOLE_HASH_LIMIT", 64)
    monkeypatch.setattr(manifest_module, "SAMPLE_BLOCK", 8)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(bytes(range(200)))
    before = folder_fingerprint(tmp_path)
    weights.write_bytes(bytes(range(100)) + b"\xff" + bytes(range(101, 200)))  # the middle block changes
    assert folder_fingerprint(tmp_path) != before


def test_a_path_that_is_no_model_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match=r"'runs/a/b' is neither a model folder nor a hub id"):
        model_identity("runs/a/b")
    (tmp_path / "weights.bin").write_text("x")
    with pytest.raises(ValueError, match="neither a model folder nor a hub id"):
        model_identity(str(tmp_path / "weights.bin"))


def test_same_model_any_spelling_is_accepted_another_model_is_refused(
    eval_tiny_model, data_dir, tmp_path, monkeypatch, capsys
):
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(eval_tiny_model, first / "tiny")
    _resaved(eval_tiny_model, second / "tiny")
    out = tmp_path / "run"
    monkeypatch.chdir(first)
    assert main(["eval", *eval_argv(Path("tiny"), data_dir, out)]) == 0
    before = (out / "generations.jsonl").read_bytes()
    for spelling in ("tiny/", "./tiny", str(first / "tiny")):
        argv = eval_argv(Path("tiny"), data_dir, out)
        argv[argv.index("--model") + 1] = spelling
        assert main(["eval", *argv]) == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    assert [i["generated"] for i in manifest["invocations"]] == [10, 0, 0, 0]

    monkeypatch.chdir(second)  # `tiny` here is the same run's model after a later save
    capsys.readouterr()
    assert main(["eval", *eval_argv(Path("tiny"), data_dir, out)]) == 2
    assert "model: {'fingerprint': " in capsys.readouterr().err
    assert (out / "generations.jsonl").read_bytes() == before


def test_a_run_that_fails_before_its_first_sample_pins_nothing(eval_tiny_model, data_dir, tmp_path):
    out = tmp_path / "run"

    def engine_missing(*args, **kwargs):
        raise ImportError("the vllm backend needs vLLM")

    with pytest.raises(ImportError):
        run_eval(config_from_argv(eval_argv(eval_tiny_model, data_dir, out)), backend_factory=engine_missing)
    assert not (out / "manifest.json").exists() and not (out / "generations.jsonl").exists()
    changed = eval_argv(eval_tiny_model, data_dir, out, "--temperature", "0.9")  # the corrected command
    assert main(["eval", *changed]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pinned"]["samples"]["temperature"] == 0.9
    assert not (out / "settings.json").exists()  # one record per run


def test_the_tokenizer_is_pinned_by_content(eval_tiny_model, data_dir, tokenizers_dir, tmp_path, capsys):
    # The bug this pins: a resume with another --tokenizer generated from other prompt tokens unrefused.
    out, tokenizer = tmp_path / "run", tmp_path / "tok"
    shutil.copytree(tokenizers_dir / "qwen2.5-7b_assembled", tokenizer)
    assert main(["eval", *eval_argv(eval_tiny_model, data_dir, out, "--tokenizer", str(tokenizer))]) == 0
    (tokenizer / "tokenizer_config.json").write_text(
        (tokenizer / "tokenizer_config.json").read_text().replace("<|im_end|>", "<|endoftext|>", 1)
    )  # same path, other content
    before = (out / "generations.jsonl").read_bytes()
    capsys.readouterr()
    for argv in (["--tokenizer", str(tokenizer)], []):
        assert main(["eval", *eval_argv(eval_tiny_model, data_dir, out, *argv)]) == 2
        assert "tokenizer: {'fingerprint': " in capsys.readouterr().err
    assert (out / "generations.jsonl").read_bytes() == before


@pytest.mark.parametrize("where", ["model", "tokenizer"])
def test_a_run_inside_the_model_folder_is_refused(eval_tiny_model, data_dir, tmp_path, capsys, where):
    # Its own files would change the model's fingerprint: the run could never resume.
    model = tmp_path / "model"
    shutil.copytree(eval_tiny_model, model)
    extra = ["--tokenizer", str(model)] if where == "tokenizer" else []
    argv = eval_argv(eval_tiny_model if extra else model, data_dir, model / "run", *extra)
    assert main(["eval", *argv]) == 2
    assert f"{model / 'run'} is inside the input folder" in capsys.readouterr().err
    assert not (model / "run").exists()


def test_a_bad_model_path_fails_before_any_output(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    argv = eval_argv(Path("no/such/model"), data_dir, out)
    assert main(["eval", *argv]) == 2
    assert "'no/such/model' is neither a model folder nor a hub id" in capsys.readouterr().err
    assert not out.exists()


def test_a_hub_model_is_pinned_by_its_cached_revision(eval_tiny_model, tmp_path, monkeypatch):
    # The Hugging Face cache layout: refs/main names the commit whose snapshot folder holds the files.
    cache = tmp_path / "hub"
    repo = cache / "models--org--Tiny-1.5B"
    shutil.copytree(eval_tiny_model, repo / "snapshots" / ("a" * 40))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    assert model_identity("org/Tiny-1.5B") == {
        "hub_id": "org/Tiny-1.5B",
        "revision": "a" * 40,
        "fingerprint": folder_fingerprint(eval_tiny_model),
    }
    assert model_identity("org/Not-Downloaded") == {
        "hub_id": "org/Not-Downloaded",
        "revision": None,
        "fingerprint": None,
    }  # pinned once the engine has downloaded it


def test_server_facts_come_from_its_model_list():
    engine = {
        "base_url": "http://127.0.0.1:8000/v1",
        "served_model": "m",
        "server_model_info": {"id": "m", "root": "/models/m", "max_model_len": 32768, "created": 1},
    }
    assert manifest_module.server_model(engine) == {"id": "m", "root": "/models/m", "max_model_len": 32768}
    with pytest.raises(UserError, match="does not report the model 'm' in /v1/models"):
        manifest_module.server_model({**engine, "server_model_info": [{"error": "connection refused"}]})
