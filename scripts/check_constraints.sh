#!/usr/bin/env bash
# The GPU stack's lock, constraints/gpu.txt: `deepmath[train,eval,vllm]` resolved by uv for Linux x86-64
# (manylinux_2_28) and Python 3.11, from package metadata only (nothing is installed; needs PyPI).
#
#   scripts/check_constraints.sh            # re-resolve; fail when the extras no longer resolve or the file drifts
#   scripts/check_constraints.sh --update   # rewrite the file: every package at its newest allowed version
#
# The check resolves with the file's own pins as preferences (uv keeps a pinned version while it still fits), so
# a new release upstream does not fail it: only a pyproject.toml change that a pin no longer satisfies, or a
# pinned release withdrawn from PyPI, does. uv: `pip install uv==0.13.10` (UV=path picks another binary); another
# uv release may word the file differently, so it is refused.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
LOCK="$REPO/constraints/gpu.txt"
UV=${UV:-uv}
UV_VERSION=0.13.10
FOUND=$("$UV" --version 2>/dev/null | cut -d' ' -f2 || true)
if [ "$FOUND" != "$UV_VERSION" ]; then
    echo "constraints: needs uv $UV_VERSION (pip install uv==$UV_VERSION), found ${FOUND:-none} at $UV" >&2
    exit 2
fi
compile() {
    (cd "$REPO" && "$UV" pip compile pyproject.toml --extra train --extra eval --extra vllm \
        --python-version 3.11 --python-platform x86_64-manylinux_2_28 --quiet \
        --custom-compile-command "scripts/check_constraints.sh --update" "$@")
}

case "${1:-}" in
--update)
    compile --upgrade -o "$LOCK"
    echo "wrote $LOCK"
    ;;
"")
    TMP=$(mktemp -d)
    trap 'rm -rf "$TMP"' EXIT
    cp "$LOCK" "$TMP/gpu.txt"
    if ! compile -o "$TMP/gpu.txt" 2>"$TMP/err"; then
        cat "$TMP/err" >&2
        echo "constraints: deepmath[train,eval,vllm] no longer resolves for the GPU stack (above)" >&2
        exit 1
    fi
    if ! diff -u "$LOCK" "$TMP/gpu.txt" >&2; then
        echo "constraints: $LOCK drifted from pyproject.toml (diff above); run scripts/check_constraints.sh --update" >&2
        exit 1
    fi
    echo "constraints: constraints/gpu.txt resolves and matches pyproject.toml"
    ;;
*)
    echo "usage: scripts/check_constraints.sh [--update]" >&2
    exit 2
    ;;
esac
