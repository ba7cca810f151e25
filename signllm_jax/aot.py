"""Ahead-of-time compilation of the real train step for a TPU topology.

No TPU is needed: libtpu (the `[tpu]` extra) describes the topology
(`jax.experimental.topologies`), the step is lowered with abstract inputs
(ShapeDtypeStructs carrying the NamedShardings the trainer would use) and
compiled by the TPU compiler. The result tells whether a config fits in the
chips' HBM before renting them:

  signllm compile --config experiments/mlsf.py:super-1b --topology v5e:4x4

The compiled step is `steps.make_train_step` jitted exactly as
`train.train_and_evaluate` jits it (donated state, no explicit out
shardings), over the model and optimizer of `cfg`. The vocabulary size is the
variant's default (`variants.VARIANTS`), not a trained tokenizer's, so no
dataset is needed; the batch is `cfg.data.batch_size` x `cfg.data.max_frames`
unless given.
"""

import importlib.util
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

from signllm_jax import languages
from signllm_jax import optim
from signllm_jax import rl
from signllm_jax import sharding
from signllm_jax import skeleton
from signllm_jax import steps
from signllm_jax.model import signllm
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


def abstract_batch(*, batch: int, frames: int, text_len: int, prompt_len: int,
                   gloss_len: int, mesh: Mesh) -> dict:
  """ShapeDtypeStructs of a training batch, sharded over the batch axes."""
  sh = sharding.batch_sharding(mesh)
  shapes = {
      "text": ((batch, text_len), jnp.int32),
      "text_mask": ((batch, text_len), jnp.bool_),
      "prompt": ((batch, prompt_len), jnp.int32),
      "prompt_mask": ((batch, prompt_len), jnp.bool_),
      "lang_gloss": ((batch, gloss_len), jnp.int32),
      "lang_gloss_mask": ((batch, gloss_len), jnp.bool_),
      "lang": ((batch,), jnp.int32),
      "pose": ((batch, frames, skeleton.FRAME_DIM), jnp.float32),
      "pose_mask": ((batch, frames), jnp.bool_),
      "length": ((batch,), jnp.int32),
      "idx": ((batch,), jnp.int32),
      "example_mask": ((batch,), jnp.bool_),
  }
  return {k: jax.ShapeDtypeStruct(s, d, sharding=sh)
          for k, (s, d) in shapes.items()}


def _abstract_rl_state(cfg, batch_abs, mesh):
  """The RL state as ShapeDtypeStructs: replay split over the batch axes."""
  if not rl.has_state(cfg.rl):
    return None
  item = steps.replay_item_spec(batch_abs, max_frames=cfg.data.max_frames)
  state = jax.eval_shape(lambda: rl.init_state(cfg.rl, example_batch=item))
  rep = NamedSharding(mesh, P())
  split = NamedSharding(mesh, P(rl.batch_axes(mesh)))

  def attach(path, x):
    in_replay = any(getattr(k, "name", getattr(k, "key", None)) == "replay"
                    for k in path)
    return jax.ShapeDtypeStruct(x.shape, x.dtype,
                                sharding=split if in_replay else rep)
  return jax.tree_util.tree_map_with_path(attach, state)


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
  rules = sharding.logical_rules(cfg.mesh)
  vocab = variants.get_variant(cfg.model.variant)["vocab_size"]
  batch = int(batch or cfg.data.batch_size)
  frames = int(frames or cfg.data.max_frames)
  shards = mesh.shape["data"] * mesh.shape["fsdp"]
  if batch % shards:
    raise AotError(f"batch {batch} does not split over the {shards} batch "
                   f"shards (data x fsdp) of mesh {dict(mesh.shape)}")
  tx = optim.make_optimizer(cfg.optim, cfg.train.steps,
                            num_groups=steps.stacked_groups(cfg.model))

  def create():
    model = signllm.build_model(cfg.model, vocab_size=vocab,
                                num_langs=languages.NUM_LANGS,
                                rngs=nnx.Rngs(cfg.seed))
    return model, nnx.Optimizer(model, tx, wrt=nnx.Param)

  t0 = time.perf_counter()
  # The optimizer too inside eval_shape: nnx.Optimizer(abstract_model) would
  # allocate real Adam moments on the host (64 GB for MLSF super-1b).
  objs_abs = nnx.eval_shape(create)
  graphdef, abstract = nnx.split(objs_abs)
  model_abs = objs_abs[0]
  state_sh = sharding.state_shardings(abstract, mesh, rules)
  # state_sh is a prefix of `abstract` (nnx Variables vs their values):
  # pair the leaves.
  state_abs = jax.tree.unflatten(jax.tree.structure(abstract), [
      jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s)
      for x, s in zip(jax.tree.leaves(abstract), jax.tree.leaves(state_sh))])
  batch_abs = abstract_batch(
      batch=batch, frames=frames, text_len=cfg.data.max_text_len,
      prompt_len=cfg.data.max_prompt_len, gloss_len=cfg.data.max_gloss_len,
      mesh=mesh)
  rl_abs = _abstract_rl_state(cfg, batch_abs, mesh)
  group_mask = None
  if steps.is_stacked_mlsf(cfg.model):
    group_mask = steps.group_leaf_mask(abstract, languages.NUM_LANGS)
  step = jax.jit(
      steps.make_train_step(graphdef, model_cfg=cfg.model, rl_cfg=cfg.rl,
                            group_mask=group_mask,
                            plateau=cfg.optim.schedule == "plateau",
                            mesh=mesh, seed=cfg.seed),
      donate_argnums=(0, 1))
  try:
    lowered = step.lower(state_abs, rl_abs, batch_abs)
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
      nnx.state(model_abs, nnx.Param)))
  state_bytes = sum(int(np.prod(x.shape)) * x.dtype.itemsize
                    for x in jax.tree.leaves(abstract))
  # Donated state should come back with the shardings it went in with; a
  # mismatch means the compiler re-laid it out (extra memory, resharding).
  same = [out.is_equivalent_to(x.sharding, len(x.shape)) for out, x in zip(
      jax.tree.leaves(compiled.output_shardings[0]),
      jax.tree.leaves(state_abs))]
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
