"""Multi-process start-up from the environment (TPU pods, GPU hosts, local).

Must run before anything touches a JAX backend (`jax.devices()`, an array):
`signllm train` calls `initialize_from_env()` first thing. Every process then
runs the same program on one global mesh; data is split by
`jax.process_index()` in the input pipeline, and every process calls the
checkpoint save/restore (orbax coordinates them; process 0 writes metadata).
"""

import logging
import os

import jax

log = logging.getLogger(__name__)

ENV_VARS = ("SIGNLLM_COORDINATOR", "SIGNLLM_NUM_PROCESSES",
            "SIGNLLM_PROCESS_ID")


class DistributedConfigError(ValueError):
  """The SIGNLLM_* environment variables are incomplete or malformed."""


def _int_env(name: str) -> int:
  value = os.environ.get(name)
  if value is None:
    raise DistributedConfigError(
        f"SIGNLLM_COORDINATOR is set but {name} is not; set all of "
        f"{', '.join(ENV_VARS)} (launch/local_multiprocess.sh does)")
  try:
    return int(value)
  except ValueError:
    raise DistributedConfigError(
        f"{name}={value!r} is not an integer") from None


def env_config() -> dict | None:
  """The explicit multi-process settings from the environment, or None."""
  coord = os.environ.get("SIGNLLM_COORDINATOR")
  if not coord:
    return None
  num = _int_env("SIGNLLM_NUM_PROCESSES")
  pid = _int_env("SIGNLLM_PROCESS_ID")
  if num < 1 or not 0 <= pid < num:
    raise DistributedConfigError(
        f"SIGNLLM_PROCESS_ID={pid} must be in [0, SIGNLLM_NUM_PROCESSES={num})")
  if ":" not in coord:
    raise DistributedConfigError(
        f"SIGNLLM_COORDINATOR={coord!r} must be host:port")
  collectives = os.environ.get("SIGNLLM_CPU_COLLECTIVES")
  if collectives is None and os.environ.get("JAX_PLATFORMS") == "cpu":
    # Without CPU collectives a multi-process CPU computation fails to run.
    collectives = "gloo"
  return {"coordinator_address": coord, "num_processes": num,
          "process_id": pid, "cpu_collectives": collectives or None}


def initialize_from_env() -> bool:
  """Calls jax.distributed.initialize when the environment asks for it.

  - `SIGNLLM_COORDINATOR` (host:port), `SIGNLLM_NUM_PROCESSES`,
    `SIGNLLM_PROCESS_ID`: GPU hosts and local multi-process runs (set by the
    launch scripts). `SIGNLLM_CPU_COLLECTIVES` (gloo | mpi) picks the CPU
    collectives; gloo is the default under JAX_PLATFORMS=cpu.
    `SIGNLLM_INIT_TIMEOUT` (seconds) bounds the wait for the other processes.
  - `SIGNLLM_DISTRIBUTED=auto`: let JAX detect the cluster (TPU pods, SLURM).
  Returns True when running multi-process.
  """
  cfg = env_config()
  if cfg is not None:
    if cfg["cpu_collectives"]:
      jax.config.update("jax_cpu_collectives_implementation",
                        cfg["cpu_collectives"])
    kwargs = {}
    if os.environ.get("SIGNLLM_INIT_TIMEOUT"):
      kwargs["initialization_timeout"] = int(
          os.environ["SIGNLLM_INIT_TIMEOUT"])
    jax.distributed.initialize(
        coordinator_address=cfg["coordinator_address"],
        num_processes=cfg["num_processes"], process_id=cfg["process_id"],
        **kwargs)
    log.info("process %d/%d: %d local / %d global devices",
             jax.process_index(), jax.process_count(),
             jax.local_device_count(), jax.device_count())
    return True
  if os.environ.get("SIGNLLM_DISTRIBUTED") == "auto":
    jax.distributed.initialize()
    return jax.process_count() > 1
  return False
