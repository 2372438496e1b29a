"""Backends: openai against a real loopback server serving the tiny model; vLLM mapping without vLLM."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eval_support import (
    SUBSET_ROWS,
    build_data_dir,
    eval_argv,
    parse_eval_args,
    read_generations,
)
from http_stub import StubServer
from shared_data import data_path

from deepmath_ext.cli import main
from deepmath_ext.commands import evaluate as evaluate_command
from deepmath_ext.errors import UserError
from deepmath_ext.evaluate.backends import GenerationRequest, SampleKey, SamplingSettings, create_backend
from deepmath_ext.evaluate.backends.openai import completion_body
from deepmath_ext.evaluate.backends.vllm import (
    INSTALL_HINT,
    generation_from_output,
    prompt_token_ids,
    sampling_params_kwargs,
)

pytestmark = pytest.mark.slow

SAMPLING = SamplingSettings(temperature=0.6, top_p=1.0, top_k=-1, max_tokens=12)


@pytest.fixture(scope="module")
def hf_backend(eval_tiny_model):
    return create_backend("hf", str(eval_tiny_model), dtype="float32", device="cpu")


class CompletionServer(StubServer):
    """/v1/completions and /v1/models, generating with the hf backend; can fail on purpose."""

    def __init__(self, backend, failures: int = 0, fail_status: int = 500) -> None:
        self.backend = backend
        self.failures = failures
        self.fail_status = fail_status
        self.posts = 0
        self.generate_lock = threading.Lock()  # torch's global RNG: one generation at a time
        super().__init__()

    def reply(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET":
            return 200, {"object": "list", "data": [{"id": "tiny", "max_model_len": 2048}]}
        with self.generate_lock:
            self.posts += 1
            if self.failures:
                self.failures -= 1
                return self.fail_status, {"error": {"message": "injected failure"}}
            tokenizer = self.backend.tokenizer
            prompt = tokenizer.decode(body["prompt"])
            if prompt_token_ids(prompt, tokenizer) != body["prompt"]:
                return 400, {"error": {"message": "token ids do not round-trip"}}
            sampling = SamplingSettings(
                body["temperature"], body["top_p"], body.get("top_k", -1), body["max_tokens"]
            )
            request = GenerationRequest(SampleKey("served", "0", 0), prompt, body["seed"])
            gen = self.backend.generate([request], sampling)[0]
        return 200, {
            "choices": [{"index": 0, "text": gen.text, "finish_reason": gen.finish_reason}],
            "usage": {"prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.response_tokens},
        }


@pytest.fixture
def server_factory(hf_backend):
    servers = []

    def start(**kwargs) -> CompletionServer:
        servers.append(CompletionServer(hf_backend, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _requests(tokenizer, count: int) -> list[GenerationRequest]:
    from deepmath_ext.templates import get_template

    prompt = get_template("qwen-boxed").render(tokenizer, "What is $1+1$?")
    return [GenerationRequest(SampleKey("math500", "p", i), prompt, 100 + i) for i in range(count)]


def _openai(server: CompletionServer, hf_backend, **options):
    return create_backend(
        "openai",
        str(Path(hf_backend.tokenizer.name_or_path)),
        base_url=server.base_url,
        served_model_name="tiny",
        concurrency=2,
        retry_backoff_s=0.01,
        **options,
    )


def test_openai_backend_matches_hf_and_retries_a_server_error(server_factory, hf_backend):
    server = server_factory(failures=1)
    backend = _openai(server, hf_backend)
    requests = _requests(hf_backend.tokenizer, 3)
    served = backend.generate(requests, SAMPLING)
    assert served == hf_backend.generate(requests, SAMPLING)  # same model, same seeds, same samples
    assert backend.retries == 1 and server.posts == 4  # the 500 was retried once
    assert backend.describe()["max_model_len"] == 2048


def test_openai_backend_gives_up_after_max_retries(server_factory, hf_backend):
    server = server_factory(failures=10, fail_status=503)
    backend = _openai(server, hf_backend, max_retries=2)
    with pytest.raises(UserError, match="gave up after 3 attempts: HTTP 503"):
        backend.generate(_requests(hf_backend.tokenizer, 1), SAMPLING)
    assert server.posts == 3


def test_openai_backend_does_not_retry_a_client_error(server_factory, hf_backend):
    server = server_factory(failures=1, fail_status=400)
    backend = _openai(server, hf_backend)
    with pytest.raises(UserError, match=r"HTTP 400: .*injected failure"):
        backend.generate(_requests(hf_backend.tokenizer, 1), SAMPLING)
    assert server.posts == 1 and backend.retries == 0


def test_completion_body_sends_token_ids_and_only_a_real_top_k():
    request = GenerationRequest(SampleKey("aime24", "60", 3), "ignored", 45)
    body = completion_body(request, SAMPLING, "served", [1, 2, 3])
    assert body == {
        "model": "served", "prompt": [1, 2, 3], "n": 1, "max_tokens": 12, "temperature": 0.6, "top_p": 1.0,
        "seed": 45,
    }  # fmt: skip
    with_top_k = completion_body(request, SamplingSettings(top_k=40), "served", [1])
    assert with_top_k["top_k"] == 40


def test_vllm_sampling_params_one_seeded_sample_capped_to_the_context():
    request = GenerationRequest(SampleKey("amc23", "0", 5), "p", 42 + 5)
    kwargs = sampling_params_kwargs(request, SamplingSettings(0.6, 0.95, -1, 32768), 1000, 32768)
    assert kwargs == {"n": 1, "temperature": 0.6, "top_p": 0.95, "top_k": -1, "max_tokens": 31768, "seed": 47}
    assert sampling_params_kwargs(request, SamplingSettings(max_tokens=100), 10, 32768)["max_tokens"] == 100
    with pytest.raises(ValueError, match="fills max_model_len=1000"):
        sampling_params_kwargs(request, SAMPLING, 1000, 1000)


def test_vllm_prompt_ids_carry_one_bos_from_the_template():
    from transformers import AutoTokenizer

    from deepmath_ext.templates import get_template

    tokenizer = AutoTokenizer.from_pretrained(data_path("tokenizers", "deepseek-r1-distill-qwen_assembled"))
    prompt = get_template("r1-distill").render(tokenizer, "What is 2+2?")
    ids = prompt_token_ids(prompt, tokenizer)
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id
    assert tokenizer(prompt)["input_ids"].count(tokenizer.bos_token_id) == 2  # what we avoid


def _request_output(finish_reason: str):
    """The attributes of a vllm.RequestOutput that the mapping reads."""
    completion = SimpleNamespace(text=" \\boxed{4}", token_ids=[11, 12, 13], finish_reason=finish_reason)
    return SimpleNamespace(request_id="7", prompt_token_ids=[1, 2], outputs=[completion])


def test_vllm_output_mapping():
    gen = generation_from_output(_request_output("length"))
    assert (gen.text, gen.finish_reason, gen.response_tokens, gen.prompt_tokens) == (
        " \\boxed{4}",
        "length",
        3,
        2,
    )
    assert generation_from_output(_request_output("stop")).finish_reason == "stop"
    with pytest.raises(RuntimeError, match="ended with 'abort'"):
        generation_from_output(_request_output("abort"))


def test_missing_vllm_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "vllm", None)  # what an environment without vLLM looks like
    with pytest.raises(ImportError, match=r"pip install 'deepmath\[vllm\]'"):
        create_backend("vllm", str(tmp_path))  # a local model folder: no hub check comes first
    assert "deepmath[vllm]" in INSTALL_HINT


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown backend 'tgi'; known: hf, openai, vllm"):
        create_backend("tgi", "m")


def test_eval_command_runs_against_a_server(server_factory, hf_backend, tmp_path):
    server = server_factory(failures=1)
    out = tmp_path / "served"
    model = str(Path(hf_backend.tokenizer.name_or_path))
    argv = eval_argv(Path(model), build_data_dir(tmp_path / "data"), out, "--concurrency", "2")
    argv[argv.index("hf")] = "openai"
    argv += ["--base-url", server.base_url, "--served-model-name", "tiny"]
    assert main(["eval", *argv]) == 0
    assert len(read_generations(out)) == 2 * sum(SUBSET_ROWS.values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backend"] == "openai" and manifest["engine"]["served_model"] == "tiny"
    assert manifest["engine"]["max_model_len"] == 2048  # read from the server's /v1/models


def test_tiny_model_fits_vllm_cpu(eval_tiny_model):
    config = json.loads((eval_tiny_model / "config.json").read_text())
    assert config["hidden_size"] // config["num_attention_heads"] >= 32  # vLLM-CPU's smallest head dim
    for name in ("tokenizer.json", "generation_config.json", "model.safetensors"):
        assert (eval_tiny_model / name).is_file(), name


def test_engine_args_parse_as_json_and_go_to_vllm_only():
    argv = ["--engine-arg", "max_num_batched_tokens=16384", "--engine-arg", "enforce_eager=True"]
    argv += ["--engine-arg", "kv_cache_dtype=auto", "--engine-arg", 'compilation_config={"level": 0}']
    args = parse_eval_args(["--model", "m", "--out", "o", "--backend", "vllm", *argv])
    assert evaluate_command.backend_options(args)["engine_args"] == {
        "max_num_batched_tokens": 16384, "enforce_eager": True, "kv_cache_dtype": "auto",
        "compilation_config": {"level": 0},
    }  # fmt: skip
    args.backend = "hf"
    with pytest.raises(ValueError, match="--engine-arg is for --backend vllm, not hf"):
        evaluate_command.backend_options(args)
    with pytest.raises(SystemExit):
        parse_eval_args(["--model", "m", "--out", "o", "--engine-arg", "enforce_eager"])


def test_engine_args_with_their_own_option_are_refused():
    with pytest.raises(
        ValueError, match="engine args dtype, seed have their own options: use --dtype, --seed"
    ):
        create_backend("vllm", "m", engine_args={"seed": 1, "dtype": "half", "enforce_eager": True})
