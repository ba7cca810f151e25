#!/usr/bin/env bash
# Create (once) and run on a Cloud TPU VM pod slice; every worker runs the same
# command. WORKDIR should be a gs:// path so all workers share checkpoints.
#   launch/tpu_pod.sh my-tpu us-central2-b v4-32 experiments/mlsf.py:super-1b gs://bucket/runs/super
set -euo pipefail
NAME=${1:?tpu name}
ZONE=${2:?zone}
TYPE=${3:?accelerator type, e.g. v5litepod-16 or v4-32}
CONFIG=${4:?config}
WORKDIR=${5:?workdir (gs://...)}
shift 5
REPO_URL=${SIGNLLM_REPO_URL:-https://github.com/signllm-jax/signllm-jax.git}
if ! gcloud compute tpus tpu-vm describe "$NAME" --zone "$ZONE" >/dev/null 2>&1; then
  gcloud compute tpus tpu-vm create "$NAME" --zone "$ZONE" \
    --accelerator-type "$TYPE" --version "${TPU_SOFTWARE:-tpu-ubuntu2204-base}"
fi
gcloud compute tpus tpu-vm ssh "$NAME" --zone "$ZONE" --worker=all --command "
  set -e
  [ -d signllm-jax ] || git clone $REPO_URL signllm-jax
  cd signllm-jax && python3 -m venv .venv && .venv/bin/pip install -q -e '.[tpu]'
  .venv/bin/signllm train --config '$CONFIG' --workdir '$WORKDIR' $*"
