#!/usr/bin/env bash
# Submit a recipe to the Ray cluster started with ray_start.sh:
#   RAY_HEAD_ADDRESS=10.0.0.1 cluster/submit.sh deepmath-zero-7b data.train_files=/shared/train.parquet ...
# `deepmath train` validates the recipe here, checks the cluster (GPUs, paths and plug-ins on every node, with a
# small probe job), then submits it as a Ray job and follows its logs: Ctrl-C or SIGTERM stops the job
# (`--detach` returns at once instead). The job's runtime env carries WANDB_API_KEY, HF_TOKEN, interface
# variables and the like when they are set in this shell, plus the recipe's reward plug-ins.
# Ray's token is used when Ray finds one (~/.ray/auth_token, RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN).
#
# Environment:
#   RAY_HEAD_ADDRESS       the head node's IP or host name (required)
#   RAY_DASHBOARD_PORT     the head's dashboard / job API port (default 8265)
#   DEEPMATH_SHIP_PACKAGE  1: send deepmath_ext with the job (workers without `pip install deepmath`)
#   DRY_RUN=1              validate and print the job's runtime env and entrypoint only
set -euo pipefail

: "${RAY_HEAD_ADDRESS:?set RAY_HEAD_ADDRESS to the Ray head node address}"
flags=(--submit "http://${RAY_HEAD_ADDRESS}:${RAY_DASHBOARD_PORT:-8265}")
if [[ "${DEEPMATH_SHIP_PACKAGE:-0}" == 1 ]]; then flags+=(--ship-package); fi
if [[ "${DRY_RUN:-0}" == 1 ]]; then flags+=(--dry-run); fi
exec "${DEEPMATH_PYTHON:-python}" -m deepmath_ext.cli train "${flags[@]}" "$@"
