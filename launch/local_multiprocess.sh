#!/usr/bin/env bash
# N local processes x M simulated CPU devices, one global mesh (for testing).
# usage: launch/local_multiprocess.sh CONFIG WORKDIR [NUM_PROCESSES] [DEVICES_PER_PROCESS] [-- overrides...]
set -euo pipefail
CONFIG=${1:?config, e.g. experiments/mlsf.py:smoke}
WORKDIR=${2:?workdir}
NPROC=${3:-2}
NDEV=${4:-4}
shift $(( $# < 4 ? $# : 4 ))
[[ "${1:-}" == "--" ]] && shift
PORT=${SIGNLLM_PORT:-$(( 20000 + RANDOM % 20000 ))}
pids=()
for ((i = 0; i < NPROC; i++)); do
  SIGNLLM_COORDINATOR="127.0.0.1:${PORT}" SIGNLLM_NUM_PROCESSES="${NPROC}" \
  SIGNLLM_PROCESS_ID="${i}" SIGNLLM_CPU_COLLECTIVES=gloo \
  XLA_FLAGS="--xla_force_host_platform_device_count=${NDEV}" JAX_PLATFORMS=cpu \
    signllm train --config "${CONFIG}" --workdir "${WORKDIR}" "$@" \
    > "${WORKDIR%/}.proc${i}.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
exit $status
