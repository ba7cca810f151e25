"""orbax checkpoints: model + optimizer state, data-iterator state, replay state.

Items per step: `state` (the nnx state of (model, optimizer) as a pure dict),
`data` (the grain iterator state, JSON), `replay` (the PLC replay pytree, when
used) and `meta` (step counters). A latest checkpoint that fails to restore is
reported and the previous one is used instead.
"""

import logging
import pathlib
from typing import Any

import jax
import orbax.checkpoint as ocp
from flax import nnx

log = logging.getLogger(__name__)


class NoCheckpointError(FileNotFoundError):
  pass


def make_manager(ckpt_dir: str | pathlib.Path, *, max_to_keep: int = 3,
                 async_save: bool = True) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(
      max_to_keep=max_to_keep, create=True,
      enable_async_checkpointing=async_save,
      # Unfinished saves of a killed run leave tmp folders; clear them.
      cleanup_tmp_directories=True)
  return ocp.CheckpointManager(
      pathlib.Path(ckpt_dir).absolute(), options=options,
      item_names=("state", "data", "replay", "meta"))


def _pure(tree):
  return tree.to_pure_dict() if isinstance(tree, nnx.State) else tree


def save(mngr: ocp.CheckpointManager, step: int, *, state: nnx.State,
         data_state: Any, replay_state: Any = None, meta: dict | None = None,
         force: bool = False) -> bool:
  items = {
      "state": ocp.args.StandardSave(_pure(state)),
      "data": ocp.args.JsonSave(data_state if data_state is not None else {}),
      "meta": ocp.args.JsonSave({"step": int(step), **(meta or {})}),
  }
  if replay_state is not None:
    items["replay"] = ocp.args.StandardSave(replay_state)
  return mngr.save(step, args=ocp.args.Composite(**items), force=force)


def _abstract(tree):
  def to_abstract(x):
    if isinstance(x, jax.Array):
      return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
    return x
  return jax.tree.map(to_abstract, tree)


def restore_latest(mngr: ocp.CheckpointManager, *, state_target: nnx.State,
                   replay_target: Any = None) -> dict | None:
  """Restores the newest readable checkpoint into the given targets.

  `state_target` may be concrete (its shardings and dtypes are used) or
  abstract. Returns None when the directory holds no checkpoint. Returns a dict
  with `step`, `state` (an nnx.State shaped like the target), `data_state`,
  `replay_state`, `meta`, and `skipped_steps` (newer steps that were broken).
  """
  steps = sorted(mngr.all_steps(), reverse=True)
  if not steps:
    return None
  skipped = []
  pure_target = _abstract(_pure(state_target))
  for step in steps:
    items = {
        "state": ocp.args.StandardRestore(pure_target),
        "data": ocp.args.JsonRestore(),
        "meta": ocp.args.JsonRestore(),
    }
    if replay_target is not None:
      items["replay"] = ocp.args.StandardRestore(_abstract(replay_target))
    try:
      restored = mngr.restore(step, args=ocp.args.Composite(**items))
    except Exception as e:  # noqa: BLE001 - any unreadable step falls back.
      log.warning("checkpoint step %d is unreadable (%s: %s); falling back "
                  "to an older one", step, type(e).__name__,
                  str(e).splitlines()[0][:300] if str(e) else "")
      skipped.append(step)
      continue
    state = state_target
    if isinstance(state_target, nnx.State):
      state = jax.tree.map(lambda x: x, state_target)
      nnx.replace_by_pure_dict(state, restored["state"])
    else:
      state = restored["state"]
    return {
        "step": step, "state": state, "data_state": restored["data"],
        "replay_state": restored.get("replay") if replay_target is not None
        else None,
        "meta": restored["meta"], "skipped_steps": skipped,
    }
  raise NoCheckpointError(
      f"no readable checkpoint in {mngr.directory}: steps {skipped} all "
      "failed to restore (see warnings above)")
