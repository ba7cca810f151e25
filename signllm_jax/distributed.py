"""Multi-process start-up from the environment (TPU pods, GPU hosts, local)."""

import logging
import os

import jax

log = logging.getLogger(__name__)


def initialize_from_env() -> bool:
  """Calls jax.distributed.initialize when the environment asks for it.

  - `SIGNLLM_COORDINATOR`, `SIGNLLM_NUM_PROCESSES`, `SIGNLLM_PROCESS_ID`: GPU
    hosts and local multi-process runs (set by the launch scripts).
  - `SIGNLLM_DISTRIBUTED=auto`: let JAX detect the cluster (TPU pods, SLURM).
  Returns True when running multi-process.
  """
  coord = os.environ.get("SIGNLLM_COORDINATOR")
  if coord:
    num = int(os.environ["SIGNLLM_NUM_PROCESSES"])
    pid = int(os.environ["SIGNLLM_PROCESS_ID"])
    if os.environ.get("SIGNLLM_CPU_COLLECTIVES"):
      jax.config.update("jax_cpu_collectives_implementation",
                        os.environ["SIGNLLM_CPU_COLLECTIVES"])
    jax.distributed.initialize(coordinator_address=coord, num_processes=num,
                               process_id=pid)
    log.info("process %d/%d, %d global devices", pid, num, jax.device_count())
    return True
  if os.environ.get("SIGNLLM_DISTRIBUTED") == "auto":
    jax.distributed.initialize()
    return jax.process_count() > 1
  return False
