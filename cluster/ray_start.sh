#!/usr/bin/env bash
# Start Ray on this node: the head when RAY_HEAD_ADDRESS is empty or unset, otherwise a worker joining it.
# Arguments after the script's name go to `ray start` as they are (e.g. --num-cpus=16, --temp-dir=DIR).
#
# Environment (all optional):
#   RAY_HEAD_ADDRESS    the head node's IP or host name (workers only)
#   RAY_PORT            the head's GCS port (default 6379)
#   RAY_DASHBOARD_PORT  the head's dashboard / job API port (default 8265)
#   RAY_DASHBOARD_HOST  the address the head's dashboard listens on (default 0.0.0.0: every interface)
#   RAY_NODE_IP         this node's address, when Ray picks the wrong network
#   RAY_NUM_GPUS        GPUs to offer (default: Ray counts them)
#   RAY_BLOCK=1         stay in the foreground (srun, containers)
#   RAY_AUTH_MODE       token or disabled; unset: token when Ray finds a token (see ray_auth.sh)
#   DRY_RUN=1           print the `ray start` command instead of running it
# Network interfaces are never chosen here: NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME, NCCL_IB_HCA reach the
# Ray workers (and so NCCL/Gloo) only if you export them before running this script.
set -euo pipefail
# shellcheck source=cluster/ray_auth.sh
source "$(dirname "${BASH_SOURCE[0]}")/ray_auth.sh"

port="${RAY_PORT:-6379}"
if [[ -z "${RAY_HEAD_ADDRESS:-}" ]]; then
  role=head
  cmd=(ray start --head --port="$port" --dashboard-host="${RAY_DASHBOARD_HOST:-0.0.0.0}"
    --dashboard-port="${RAY_DASHBOARD_PORT:-8265}")
else
  role=worker
  cmd=(ray start --address="${RAY_HEAD_ADDRESS}:${port}")
fi
if [[ -n "${RAY_NODE_IP:-}" ]]; then cmd+=(--node-ip-address="$RAY_NODE_IP"); fi
if [[ -n "${RAY_NUM_GPUS:-}" ]]; then cmd+=(--num-gpus="$RAY_NUM_GPUS"); fi
if [[ "${RAY_BLOCK:-0}" == 1 ]]; then cmd+=(--block); fi
cmd+=("$@")

for var in NCCL_SOCKET_IFNAME GLOO_SOCKET_IFNAME NCCL_IB_HCA; do
  if [[ -n "${!var:-}" ]]; then echo "ray_start.sh: passing $var=${!var} to Ray workers" >&2; fi
done
ray_auth "$role"
if [[ "${DRY_RUN:-0}" == 1 ]]; then
  printf '%q ' "${cmd[@]}"
  echo
else
  exec "${cmd[@]}"
fi
