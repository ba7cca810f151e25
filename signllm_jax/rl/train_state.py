"""The RL config block, its validation and the trainer's calls (see the
package docstring, signllm_jax/rl/__init__.py, for the fields and the
order of calls)."""

from typing import Any, NamedTuple

import jax
import ml_collections
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from signllm_jax.rl import loss
from signllm_jax.rl import plc
from signllm_jax.rl import reward

# The mesh axes the batch (and so the replay's capacity axis) is split over,
# those of them that the mesh has.
BATCH_AXES = ("data", "fsdp")
REPLAY_MIXES = ("append", "replace")


def default_rl_config() -> ml_collections.ConfigDict:
  """The rl block of experiments/base.py (where every default lives)."""
  from experiments import base  # pylint: disable=g-import-not-at-top
  return base.get_config().rl


# What a block written before a field existed meant: replay_mix came after
# runs that appended (its default is "replace" now).
_LEGACY_DEFAULTS = {"replay_mix": "append"}


def _field(rl_cfg, name: str) -> Any:
  """rl_cfg.name, or what a caller's block without it meant."""
  if hasattr(rl_cfg, name):
    return getattr(rl_cfg, name)
  return _LEGACY_DEFAULTS.get(name, default_rl_config()[name])


def is_beta(rl_cfg) -> float | None:
  """The IS exponent, or None when off (None or negative)."""
  beta = _field(rl_cfg, "is_beta")
  return None if beta is None or beta < 0 else float(beta)


def validate(rl_cfg: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming the first bad field of the `rl` block."""
  choices = {"mode": loss.MODES, "priority_fn": plc.PRIORITY_FNS,
             "skip_rule": reward.SKIP_RULES, "skip_unit": reward.SKIP_UNITS}
  for field, allowed in choices.items():
    if _field(rl_cfg, field) not in allowed:
      raise ValueError(f"config rl.{field}={_field(rl_cfg, field)!r} is not "
                       f"one of {allowed}")
  if not 0.0 <= rl_cfg.skip_threshold <= 1.0:
    raise ValueError(f"config rl.skip_threshold={rl_cfg.skip_threshold} is "
                     "not in [0, 1]")
  if _field(rl_cfg, "replay_mix") not in REPLAY_MIXES:
    raise ValueError(f"config rl.replay_mix={_field(rl_cfg, 'replay_mix')!r} "
                     f"is not one of {REPLAY_MIXES}")
  if _field(rl_cfg, "skip_unit") == "batch" and rl_cfg.skip_rule != (
      "normalised"):
    raise ValueError("config rl.skip_unit='batch' needs "
                     "rl.skip_rule='normalised'")
  if not 0.0 <= rl_cfg.replay_fraction < 1.0:
    raise ValueError(f"config rl.replay_fraction={rl_cfg.replay_fraction} "
                     "is not in [0, 1)")
  if rl_cfg.eta < 0:
    raise ValueError(f"config rl.eta={rl_cfg.eta} is negative")


def replay_batch_size(batch_size: int, rl_cfg, num_shards: int = 1) -> int:
  """Replayed rows per step: round(B * replay_fraction) to a multiple of S.

  0 unless mode == "rl_plc". Rounded down to a multiple of the shards so that
  every shard draws the same number from its slice.
  """
  if rl_cfg.mode != "rl_plc":
    return 0
  num = int(round(batch_size * rl_cfg.replay_fraction))
  return (num // num_shards) * num_shards


def fresh_batch_size(batch_size: int, rl_cfg, num_shards: int = 1) -> int:
  """Fresh rows the data pipeline serves per step for data.batch_size.

  batch_size itself, less the replayed rows with replay_mix "replace".
  Raises ValueError when mode "rl_plc" would replay no row at all (the
  channel would silently be off) or, with "replace", keep no fresh row.
  """
  num = replay_batch_size(batch_size, rl_cfg, num_shards)
  if rl_cfg.mode != "rl_plc":
    return batch_size
  if num == 0:
    raise ValueError(
        f"rl.mode=rl_plc replays nothing: data.batch_size {batch_size} x "
        f"rl.replay_fraction {rl_cfg.replay_fraction} rounds down to 0 rows "
        f"over {num_shards} data shard(s) (each shard draws the same "
        "number); raise the batch size or the replay fraction")
  if _field(rl_cfg, "replay_mix") == "append":
    return batch_size
  fresh = batch_size - num
  if fresh % num_shards:
    raise ValueError(f"rl.replay_mix=replace leaves {fresh} fresh rows, not "
                     f"a multiple of the {num_shards} data shards")
  return fresh


class RLTrainState(NamedTuple):
  """Everything RL carries between steps (checkpoint it as one item)."""
  reward_range: reward.RewardRange  # for skip_rule="normalised"
  replay: plc.ReplayState | None    # mode "rl_plc" only


def has_state(rl_cfg) -> bool:
  """Whether the mode carries an `RLTrainState` (all but "mse")."""
  return rl_cfg.mode != "mse"


def batch_axes(mesh: jax.sharding.Mesh) -> tuple[str, ...]:
  """The BATCH_AXES present in mesh (what the replay is split over)."""
  axes = tuple(a for a in BATCH_AXES if a in mesh.axis_names)
  if not axes:
    raise ValueError(f"mesh axes {mesh.axis_names} include none of "
                     f"{BATCH_AXES}")
  return axes


def num_shards(mesh: jax.sharding.Mesh | None) -> int:
  if mesh is None:
    return 1
  n = 1
  for a in batch_axes(mesh):
    n *= mesh.shape[a]
  return n


def init_state(rl_cfg, *, example_batch: Any,
               mesh: jax.sharding.Mesh | None = None,
               shards: int | None = None) -> RLTrainState | None:
  """The initial RL state: None for "mse", the replay placed on the mesh.

  Args:
    rl_cfg: the `rl` block.
    example_batch: a batch dict (arrays or ShapeDtypeStructs, leading batch
      axis); the replay stores every key of it (it must have "idx", and
      "lang" for per-language sampling).
    mesh: the training mesh (None: one device, no placement).
    shards: the replay's shard count when `mesh` is None (inside a
      jitted init whose out_shardings place it: state.init_rl_state).
  """
  validate(rl_cfg)
  if not has_state(rl_cfg):
    return None
  replay = None
  if rl_cfg.mode == "rl_plc":
    item = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype),
                        example_batch)
    if mesh is not None or not shards:
      shards = num_shards(mesh)
    replay = plc.init(item, rl_cfg.replay_capacity, num_shards=shards)
    if mesh is not None:
      spec = NamedSharding(mesh, P(batch_axes(mesh)))
      replay = jax.device_put(replay, jax.tree.map(lambda _: spec, replay))
  return RLTrainState(reward_range=reward.init_reward_range(), replay=replay)


def objective(per_example_loss_B: jax.Array, mse_B: jax.Array, rl_cfg, *,
              example_mask_B: jax.Array,
              rl_state: RLTrainState | None = None,
              is_weights_B: jax.Array | None = None
              ) -> tuple[jax.Array, dict[str, jax.Array],
                         RLTrainState | None]:
  """`loss.rl_objective` over an `RLTrainState` (None in mode "mse")."""
  if rl_state is None:
    loss_value, metrics, _ = loss.rl_objective(
        per_example_loss_B, mse_B, rl_cfg, example_mask_B=example_mask_B,
        rl_state=None, is_weights_B=is_weights_B)
    return loss_value, metrics, None
  loss_value, metrics, new_range = loss.rl_objective(
      per_example_loss_B, mse_B, rl_cfg, example_mask_B=example_mask_B,
      rl_state=rl_state.reward_range, is_weights_B=is_weights_B)
  return loss_value, metrics, rl_state._replace(reward_range=new_range)


def replay_sample(rl_state: RLTrainState, key: jax.Array, rl_cfg, *,
                  num: int, lang: jax.Array | None = None,
                  max_length: int | None = None,
                  mesh: jax.sharding.Mesh) -> plc.Sample:
  """Draws num replay rows (of language `lang` if given: MLSF batches;
  of at most `max_length` frames if given: the fresh batch's bucket)."""
  replay = rl_state.replay
  mask_C = None if lang is None else replay.items["lang"] == lang
  if max_length is not None:
    fits_C = replay.items["length"] <= max_length
    mask_C = fits_C if mask_C is None else mask_C & fits_C
  return plc.sharded_sample(
      replay, key, num, priority_fn=rl_cfg.priority_fn, eta=rl_cfg.eta,
      mask_C=mask_C, is_beta=is_beta(rl_cfg),
      eps=_field(rl_cfg, "priority_eps"),
      min_size=rl_cfg.min_replay_size, mesh=mesh, axis_name=batch_axes(mesh))


def replay_record(rl_state: RLTrainState, rl_cfg, *, fresh_B: dict,
                  fresh_mse_B: jax.Array, fresh_mask_B: jax.Array,
                  sample: plc.Sample | None = None,
                  replay_mse_R: jax.Array | None = None,
                  mesh: jax.sharding.Mesh) -> RLTrainState:
  """Refreshes the replayed rows' rewards, then stores the fresh rows.

  Rewards are -stop_gradient(mse); rows are keyed by their "idx".
  """
  del rl_cfg  # the buffer's behaviour is fixed at init; kept for symmetry
  axes = batch_axes(mesh)
  replay = rl_state.replay
  if sample is not None:
    replay = plc.sharded_update(
        replay, sample.slots, reward.reward_from_mse(replay_mse_R),
        ids_R=sample.items["idx"], valid_R=sample.valid, mesh=mesh,
        axis_name=axes)
  replay = plc.sharded_add(
      replay, fresh_B, reward.reward_from_mse(fresh_mse_B),
      ids_B=fresh_B["idx"], valid_B=fresh_mask_B, mesh=mesh, axis_name=axes)
  return rl_state._replace(replay=replay)
