#!/usr/bin/env bash
# Start Ray on this node: the head when RAY_HEAD_ADDRESS is empty or unset, otherwise a worker joining it.
#
# Environment (all optional):
#   RAY_HEAD_ADDRESS    the head node's IP or host name (workers only)
#   RAY_PORT            the head's GCS port (default 6379)
#   RAY_DASHBOARD_PORT  the head's dashboard / job API port (default 8265)
#   RAY_NODE_IP         this node's address, when Ray picks the wrong network
#   RAY_NUM_GPUS        GPUs to offer (default: Ray counts them)
#   RAY_BLOCK=1         stay in the foreground (srun, containers)
#   DRY_RUN=1           print the `ray start` command instead of running it
# Network interfaces are never chosen here: NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME, NCCL_IB_HCA reach the
# Ray workers (and so NCCL/Gloo) only if you export them before running this script.
set -euo pipefail

port="${RAY_PORT:-6379}"
if [[ -z "${RAY_HEAD_ADDRESS:-}" ]]; then
  cmd=(ray start --head --port="$port" --dashboard-host=0.0.0.0 --dashboard-port="${RAY_DASHBOARD_PORT:-8265}")
else
  cmd=(ray start --address="${RAY_HEAD_ADDRESS}:${port}")
fi
if [[ -n "${RAY_NODE_IP:-}" ]]; then cmd+=(--node-ip-address="$RAY_NODE_IP"); fi
if [[ -n "${RAY_NUM_GPUS:-}" ]]; then cmd+=(--num-gpus="$RAY_NUM_GPUS"); fi
if [[ "${RAY_BLOCK:-0}" == 1 ]]; then cmd+=(--block); fi

for var in NCCL_SOCKET_IFNAME GLOO_SOCKET_IFNAME NCCL_IB_HCA; do
  if [[ -n "${!var:-}" ]]; then echo "ray_start.sh: passing $var=${!var} to Ray workers" >&2; fi
done
if [[ "${DRY_RUN:-0}" == 1 ]]; then
  printf '%q ' "${cmd[@]}"
  echo
else
  exec "${cmd[@]}"
fi
