"""Ahead-of-time compilation of the real train step for a TPU topology.

No TPU is needed: libtpu (the `[tpu]` extra) describes the topology
(`jax.experimental.topologies`), the step is lowered with abstract inputs
(ShapeDtypeStructs carrying the NamedShardings the trainer would use) and
compiled by the TPU compiler. The result tells whether a config fits in the
chips' HBM before renting them:

  signllm compile --config experiments/mlsf.py:super-1b --topology v5e:4x4

The compiled step is the trainer's (`state.lower_train_step`: the same
jitted function, in/out shardings, donation and fresh/replayed rows as
`signllm train`), over the model and optimizer of `cfg`. The vocabulary size is the
variant's default (`variants.VARIANTS`), not a trained tokenizer's, so no
dataset is needed; the batch is `cfg.data.batch_size` x `cfg.data.max_frames`
unless given.
"""

import importlib.util
import os
import time
from typing import Any

import jax
import numpy as np
from flax import nnx
from jax.sharding import AxisType, Mesh

from signllm_jax import config as config_lib
from signllm_jax import sharding
from signllm_jax import state as state_lib
from signllm_jax.model import variants

# Any JAX process on this machine without JAX_PLATFORMS=cpu loads libtpu (once
# installed) and holds /tmp/libtpu_lockfile; compiling needs no TPU, so do not
# take (or wait for) that lock. Read when libtpu loads, hence at import.
os.environ.setdefault("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")

GiB = 2**30
# HBM per device (one chip; v4 and v5p chips are one megacore device).
HBM_BYTES = {
    "v4": 32 * GiB,
    "v5e": 16 * GiB,
    "v5litepod": 16 * GiB,
    "v5p": 95 * GiB,
    "v6e": 32 * GiB,
}
INSTALL_HINT = ('pip install "signllm-jax[tpu]" (or pip install '
                '"jax[tpu]==0.10.2"), which brings libtpu')


class AotError(RuntimeError):
  """AOT compilation is impossible: no libtpu, bad topology or mesh."""


def have_libtpu() -> bool:
  return importlib.util.find_spec("libtpu") is not None


def hbm_bytes(topology: str) -> int | None:
  """HBM per device for a topology name such as 'v5e:4x4'."""
  return HBM_BYTES.get(topology.split(":", 1)[0].strip().lower())


def get_topology(topology: str):
  """The TopologyDescription of e.g. 'v5e:4x4' or 'v4:2x2x2'."""
  if not have_libtpu():
    raise AotError(f"libtpu is not installed; {INSTALL_HINT}")
  from jax.experimental import topologies  # pylint: disable=g-import-not-at-top
  try:
    return topologies.get_topology_desc(platform="tpu",
                                        topology_name=topology)
  except Exception as e:  # noqa: BLE001 - libtpu raises several types.
    raise AotError(f"libtpu does not know the topology {topology!r} "
                   f"({type(e).__name__}: {str(e).splitlines()[0][:300]}); "
                   "use e.g. v4:2x2x1, v5e:2x2, v5e:4x4, v5p:2x2x1, "
                   "v6e:2x2") from None


def topology_mesh(mesh_cfg, topo) -> Mesh:
  """The (data, fsdp, tensor) mesh of cfg.mesh over the topology's devices.

  The axis sizes must multiply to the device count (one -1 takes the rest);
  the device order is the topology-aware one of `topologies.make_mesh`.
  """
  from jax.experimental import topologies  # pylint: disable=g-import-not-at-top
  devices = list(topo.devices)
  try:
    # Resolves -1 and checks the product against the device count.
    sizes = tuple(sharding.make_mesh(mesh_cfg, devices=devices).shape.values())
  except ValueError as e:
    raise AotError(f"cfg.mesh does not fit the topology's {len(devices)} "
                   f"devices: {e}") from None
  mesh = topologies.make_mesh(topo, sizes, sharding.MESH_AXES)
  # Auto axes, as sharding.make_mesh (Explicit breaks nnx.Linear, STACK.md).
  return Mesh(mesh.devices, mesh.axis_names,
              axis_types=(AxisType.Auto,) * len(sharding.MESH_AXES))


def _memory(compiled) -> dict[str, int | None]:
  mem = compiled.memory_analysis()
  if mem is None:
    return {}
  out = {k: int(getattr(mem, f"{k}_size_in_bytes", 0)) for k in (
      "argument", "output", "alias", "temp", "generated_code")}
  out["peak"] = (out["argument"] + out["output"] - out["alias"]
                 + out["temp"])
  return out


def compile_for_topology(cfg, topology: str, *, batch: int | None = None,
                         frames: int | None = None) -> dict[str, Any]:
  """Compiles cfg's train step for `topology`; memory, FLOPs, fit.

  Returns a JSON-able dict: devices, mesh, per-device memory (bytes, from
  XLA's memory analysis), per-device FLOPs (cost analysis), HBM and whether
  the peak fits in it, compile time. Raises AotError when libtpu is missing,
  the topology is unknown, the mesh does not match or compilation fails.
  """
  topo = get_topology(topology)
  mesh = topology_mesh(cfg.mesh, topo)
  vocab = variants.get_variant(cfg.model.variant)["vocab_size"]
  batch = int(batch or cfg.data.batch_size)
  frames = int(frames or cfg.data.max_frames)
  shards = mesh.shape["data"] * mesh.shape["fsdp"]
  if batch % shards:
    raise AotError(f"batch {batch} does not split over the {shards} batch "
                   f"shards (data x fsdp) of mesh {dict(mesh.shape)}")
  # The trainer's step exactly (state.py): its fresh/replayed row split,
  # in/out shardings and donation; here over the topology's mesh.
  cfg = config_lib.apply_overrides(cfg, [f"data.batch_size={batch}",
                                         f"data.max_frames={frames}"])
  t0 = time.perf_counter()
  sdef = state_lib.define(cfg, vocab_size=vocab, mesh=mesh)
  abstract = sdef.abstract
  try:
    sdef.fresh_rows  # pylint: disable=pointless-statement
  except ValueError as e:  # an rl config that replays nothing, etc.
    raise AotError(str(e)) from None
  try:
    lowered = state_lib.lower_train_step(sdef)
    lower_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = lowered.compile()
  except Exception as e:  # noqa: BLE001 - XLA errors have many types.
    raise AotError(f"compiling for {topology} failed: {type(e).__name__}: "
                   f"{str(e)[:2000]}") from e
  compile_s = time.perf_counter() - t0

  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  mem = _memory(compiled)
  hbm = hbm_bytes(topology)
  n_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(
      abstract[0].filter(nnx.Param)))
  state_bytes = sum(int(np.prod(x.shape)) * x.dtype.itemsize
                    for x in jax.tree.leaves(abstract))
  # Donated state should come back with the shardings it went in with; a
  # mismatch means the compiler re-laid it out (extra memory, resharding).
  same = [out.is_equivalent_to(x.sharding, len(x.shape)) for out, x in zip(
      jax.tree.leaves(compiled.output_shardings[0]),
      jax.tree.leaves(abstract))]
  return {
      "topology": topology,
      "device_kind": topo.devices[0].device_kind,
      "devices": len(topo.devices),
      "mesh": {k: int(v) for k, v in mesh.shape.items()},
      "variant": cfg.model.variant, "mode": cfg.model.mode,
      "shared_multilingual": bool(cfg.model.shared_multilingual),
      "compute_dtype": cfg.model.compute_dtype,
      "batch": batch, "frames": frames, "vocab_size": vocab,
      "params_total": n_params,
      "state_bytes_total": state_bytes,
      "memory_per_device": mem,
      "peak_bytes_per_device": mem.get("peak"),
      "hbm_bytes_per_device": hbm,
      "fits": None if hbm is None or not mem else mem["peak"] <= hbm,
      "hbm_used_frac": (mem["peak"] / hbm) if hbm and mem else None,
      "flops_per_device": float(cost["flops"]) if cost and "flops" in cost
                          else None,
      "state_out_sharding_preserved": all(same),
      "lower_s": lower_s, "compile_s": compile_s,
  }
