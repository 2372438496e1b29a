"""Backends: openai against a real loopback server serving the tiny model; vLLM mapping without vLLM."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
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
from http_stub import Cut, StubServer
from shared_data import data_path

from deepmath_ext.cli import main
from deepmath_ext.commands import evaluate as evaluate_command
from deepmath_ext.endpoint import Endpoint
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


def test_eval_command_runs_against_a_server(server_factory, hf_backend, tmp_path, monkeypatch):
    server = server_factory(failures=1)
    out = tmp_path / "served"
    model = str(Path(hf_backend.tokenizer.name_or_path))
    argv = eval_argv(Path(model), build_data_dir(tmp_path / "data"), out, "--concurrency", "2")
    argv[argv.index("hf")] = "openai"
    argv += ["--base-url", server.base_url + "?api_key=s3cret", "--served-model-name", "tiny"]
    monkeypatch.setattr(sys, "argv", ["deepmath", "eval", *argv])  # what the manifest records
    assert main(["eval", *argv]) == 0
    assert "s3cret" not in (out / "manifest.json").read_text()  # redacted in the command and the engine
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


# -- a misbehaving server -----------------------------------------------------------------------------


def _completion(text: str = "4", model: str = "tiny") -> dict:
    return {
        "model": model,
        "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }


class CannedServer(StubServer):
    """/v1/models lists `tiny`; each POST gets `answer(number of the post)`: (status, payload), maybe after a wait."""

    def __init__(self, answer, models=None) -> None:
        self.answer, self.models, self.posts = answer, models, 0
        self.lock = threading.Lock()
        super().__init__()

    def reply(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET":
            return 200, self.models or {"object": "list", "data": [{"id": "tiny", "max_model_len": 2048}]}
        with self.lock:
            self.posts += 1
            number = self.posts
        return self.answer(number)


@pytest.fixture
def canned(tokenizers_dir):
    servers = []

    def start(answer, models=None, **options):
        servers.append(CannedServer(answer, models))
        tokenizer = str(tokenizers_dir / "qwen2.5-7b_assembled")
        options = {"served_model_name": "tiny", "retry_backoff_s": 0.01, "max_retries": 0, **options}
        return servers[-1], create_backend("openai", tokenizer, base_url=servers[-1].base_url, **options)

    yield start
    for server in servers:
        server.close()


def _hang_then(seconds: float, number_that_hangs: int = 1):
    def answer(number: int) -> tuple[int, Any]:
        if number == number_that_hangs:
            time.sleep(seconds)
        return 200, _completion()

    return answer


def test_a_server_that_never_answers_times_out_per_request(canned):
    # The bug this pins: the timeout was 3,600 s per attempt with no option: eval sat at 0 progress.
    server, backend = canned(_hang_then(30), request_timeout_s=0.5)
    with pytest.raises(UserError, match=r"gave up after 1 attempts: (TimeoutError|URLError)"):
        backend.generate(_requests(backend.tokenizer, 1), SAMPLING)  # the 30 s answer is not waited for
    assert server.posts == 1


def test_the_default_timeout_grows_with_max_tokens():
    from deepmath_ext.evaluate.backends.openai import default_request_timeout

    assert default_request_timeout(32768) > 10 * default_request_timeout(16) > 10 * 60


def test_a_request_waiting_far_longer_than_its_peers_is_named(canned, monkeypatch, caplog):
    from deepmath_ext.evaluate.backends import openai

    monkeypatch.setattr(openai, "STRAGGLER_MIN_S", 0.3)
    monkeypatch.setattr(openai, "WATCH_INTERVAL_S", 0.05)
    _, backend = canned(_hang_then(1.5), concurrency=4)
    with caplog.at_level(logging.WARNING, logger=openai.__name__):
        assert len(backend.generate(_requests(backend.tokenizer, 4), SAMPLING)) == 4
    named = [r.message for r in caplog.records if "has waited" in r.message]
    assert len(named) == 1 and "the server may be stuck" in named[0]


def test_a_reply_cut_short_is_retried(canned):
    _, backend = canned(
        lambda n: (200, Cut(b'{"choices": [')) if n == 1 else (200, _completion()), max_retries=1
    )
    assert [g.text for g in backend.generate(_requests(backend.tokenizer, 1), SAMPLING)] == ["4"]
    assert backend.retries == 1


def test_a_reply_from_another_model_is_refused(canned):
    _, backend = canned(lambda n: (200, _completion(model="other-model")))
    with pytest.raises(UserError, match="answered as model 'other-model', not the pinned 'tiny'"):
        backend.generate(_requests(backend.tokenizer, 1), SAMPLING)


def test_prompts_are_tokenized_on_the_calling_thread(canned, monkeypatch):
    # A worker thread inside the tokenizer's native code at exit aborted the process
    # ("FATAL: exception not rethrown", rc 134) after an error such as an empty `choices`.
    from deepmath_ext.evaluate.backends import openai

    threads, real = set(), openai.prompt_token_ids
    monkeypatch.setattr(openai, "prompt_token_ids", lambda *a: threads.add(threading.get_ident()) or real(*a))
    _, backend = canned(lambda n: (200, {**_completion(), "choices": []}), concurrency=3)
    with pytest.raises(UserError, match="malformed completion response"):
        backend.generate(_requests(backend.tokenizer, 3), SAMPLING)
    assert threads == {threading.get_ident()}


def test_credentials_in_the_base_url_are_sent_but_never_shown(canned, tokenizers_dir):
    server, _ = canned(lambda n: (200, _completion()))
    secret_url = server.base_url.replace("//", "//alice:s3cret@") + "?api_key=k3y"
    tokenizer = str(tokenizers_dir / "qwen2.5-7b_assembled")
    backend = create_backend("openai", tokenizer, base_url=secret_url, served_model_name="tiny")
    backend.generate(_requests(backend.tokenizer, 1), SAMPLING)
    assert server.requests[-1]["path"] == "/v1/completions?api_key=k3y"  # sent where it belongs
    shown = json.dumps(backend.describe())
    assert "s3cret" not in shown and "k3y" not in shown and "***" in shown
    server.close()  # now nothing answers: the error names the URL without its secrets
    with pytest.raises(UserError) as error:
        Endpoint(secret_url, max_retries=0).get("/models")
    assert "s3cret" not in str(error.value) and "k3y" not in str(error.value) and "***" in str(error.value)
