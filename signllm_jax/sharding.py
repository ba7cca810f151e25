"""The device mesh, logical-axis rules and shardings: created in one place.

Mesh axes are (data, fsdp, tensor). Parameters carry logical axis names
(`nnx.with_partitioning`); `cfg.mesh.rules` maps them to mesh axes, so moving
from data parallelism to FSDP or tensor parallelism is a config change only.
"""

from typing import Any, Sequence

import jax
import numpy as np
from flax import nnx
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

MESH_AXES = ("data", "fsdp", "tensor")
BATCH_AXES = ("data", "fsdp")


def make_mesh(mesh_cfg, devices: Sequence[jax.Device] | None = None) -> Mesh:
  """Builds the (data, fsdp, tensor) mesh; -1 in one axis takes the rest."""
  devices = list(devices if devices is not None else jax.devices())
  sizes = [int(mesh_cfg[a]) for a in MESH_AXES]
  if sizes.count(-1) > 1:
    raise ValueError(f"at most one mesh axis may be -1, got {sizes}")
  fixed = int(np.prod([s for s in sizes if s != -1]))
  if -1 in sizes:
    if len(devices) % fixed:
      raise ValueError(f"{len(devices)} devices do not divide into mesh "
                       f"{dict(zip(MESH_AXES, sizes))}")
    sizes[sizes.index(-1)] = len(devices) // fixed
  if int(np.prod(sizes)) != len(devices):
    raise ValueError(f"mesh {dict(zip(MESH_AXES, sizes))} needs "
                     f"{int(np.prod(sizes))} devices, have {len(devices)}")
  # Auto axes: with the Explicit default, nnx.Linear on sharded inputs raises
  # ShardingTypeError (STACK.md).
  return jax.make_mesh(tuple(sizes), MESH_AXES, devices=devices,
                       axis_types=(AxisType.Auto,) * len(MESH_AXES))


def logical_rules(mesh_cfg) -> tuple[tuple[str, Any], ...]:
  rules = []
  for name, target in mesh_cfg.rules:
    if isinstance(target, list):
      target = tuple(target)
    rules.append((name, target))
  return tuple(rules)


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(BATCH_AXES))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def state_shardings(abstract_state, mesh: Mesh, rules) -> Any:
  """NamedShardings for an nnx State from its logical axis metadata."""
  with nnx.logical_axis_rules(rules):
    pspecs = nnx.get_partition_spec(abstract_state)
  def to_sharding(x):
    spec = x.get_value() if isinstance(x, nnx.Variable) else x
    return NamedSharding(mesh, spec if isinstance(spec, P) else P())
  return jax.tree.map(to_sharding, pspecs,
                      is_leaf=lambda x: isinstance(x, (nnx.Variable, P)))


def shard_host_batch(batch: dict[str, np.ndarray], mesh: Mesh) -> dict:
  """Host-local numpy batch -> global arrays sharded over the batch axes."""
  sharding = batch_sharding(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
          for k, v in batch.items()}
