"""orbax checkpoints: model + optimizer, data-iterator and replay state.

Items per step: `params` (the model's nnx state as a pure dict), `opt_state`
(the optimizer's), `data` (the grain iterator state, JSON), `replay` (the RL
state, when the mode keeps one) and `meta` (counters). Inference restores
`params` alone (`restore_params`): no optimizer is built or read.
Checkpoints of the older layout (one fused `state` item) are refused with one
error that names `signllm checkpoint migrate`, which rewrites them in place. Saving is atomic (orbax writes a
`<step>.orbax-checkpoint-tmp*` folder and renames it); the tmp folders a
killed run leaves behind are deleted when the manager opens. A latest
checkpoint that fails to restore is reported, moved aside to
`<checkpoints>_broken/` (so that the resumed run can save that step again)
and the previous one is used instead. A readable checkpoint whose array
layout does not fit the model and optimizer (another config, an older
version) is an error that names the differing arrays, not a broken step.
"""

import logging
import pathlib
import shutil
import time
from typing import Any

import jax
import orbax.checkpoint as ocp
from flax import nnx
from jax.experimental import multihost_utils

log = logging.getLogger(__name__)


class NoCheckpointError(FileNotFoundError):
  pass


class OldFormatError(NoCheckpointError):
  """A checkpoint of the fused-`state` layout (signllm-jax before the
  params / opt_state split)."""


class CheckpointMismatchError(NoCheckpointError):
  """A readable checkpoint whose arrays do not fit the model and optimizer:
  another config, or a state layout from another version. Not a broken
  step: nothing is moved aside and no older step is tried."""


def make_manager(ckpt_dir: str | pathlib.Path, *, max_to_keep: int = 3,
                 async_save: bool = True) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(
      max_to_keep=max_to_keep, create=True,
      enable_async_checkpointing=async_save,
      # Unfinished saves of a killed run leave tmp folders; clear them.
      cleanup_tmp_directories=True)
  return ocp.CheckpointManager(
      pathlib.Path(ckpt_dir).absolute(), options=options,
      item_names=ITEMS)


ITEMS = ("params", "opt_state", "data", "replay", "meta")
_OLD_ITEM = "state"


def _pure(tree):
  return nnx.to_pure_dict(tree) if isinstance(tree, nnx.State) else tree


def _split(pure_state) -> tuple[Any, Any]:
  """The pure dict of nnx.state((model, optimizer)) -> (params, opt)."""
  return pure_state[0], pure_state[1]


def save(mngr: ocp.CheckpointManager, step: int, *, state: nnx.State,
         data_state: Any, replay_state: Any = None, meta: dict | None = None,
         force: bool = False) -> bool:
  params, opt = _split(_pure(state))
  items = {
      "params": ocp.args.StandardSave(params),
      "opt_state": ocp.args.StandardSave(opt),
      "data": ocp.args.JsonSave(data_state if data_state is not None else {}),
      "meta": ocp.args.JsonSave({"step": int(step), **(meta or {})}),
  }
  if replay_state is not None:
    items["replay"] = ocp.args.StandardSave(replay_state)
  return mngr.save(step, args=ocp.args.Composite(**items), force=force)


def _abstract(tree):
  """Restore target: shapes, dtypes and shardings, no data."""
  def to_abstract(x):
    if isinstance(x, (jax.Array, jax.ShapeDtypeStruct)):
      return jax.ShapeDtypeStruct(x.shape, x.dtype,
                                  sharding=getattr(x, "sharding", None))
    return x
  return jax.tree.map(to_abstract, tree)


def _like(target, restored):
  """`restored` in the container types of `target` (orbax may return dicts
  or lists for NamedTuples); leaves are matched by path, never by order."""
  flat = dict(jax.tree_util.tree_flatten_with_path(restored)[0])
  by_name = {_path_names(p): v for p, v in flat.items()}
  paths, treedef = jax.tree_util.tree_flatten_with_path(target)
  leaves = []
  for path, _ in paths:
    name = _path_names(path)
    if name not in by_name:
      raise KeyError(f"checkpoint has no value for {name}")
    leaves.append(by_name[name])
  return jax.tree.unflatten(treedef, leaves)


def _path_names(path) -> tuple[str, ...]:
  names = []
  for k in path:
    for attr in ("key", "name", "idx"):
      if hasattr(k, attr):
        names.append(str(getattr(k, attr)))
        break
  return tuple(names)


def _stored_shape(x) -> tuple[int, ...]:
  """The shape orbax stores: typed PRNG keys are saved as their key data."""
  if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
    return tuple(jax.eval_shape(jax.random.key_data, x).shape)
  return tuple(x.shape)


def _layout_mismatches(item_dir: pathlib.Path, pure_target) -> list[str]:
  """Arrays whose stored shape differs from the target's, or that only one
  side has; [] when they agree or the stored metadata is unreadable (a
  broken step, left to the restore and its fallback)."""
  try:
    stored_tree = ocp.StandardCheckpointHandler().metadata(item_dir)
  except Exception:  # noqa: BLE001 - any unreadable metadata: not a layout.
    return []
  stored = {_path_names(p): tuple(getattr(x, "shape", ()) or ())
            for p, x in jax.tree_util.tree_leaves_with_path(stored_tree)}
  want = {_path_names(p): _stored_shape(x)
          for p, x in jax.tree_util.tree_leaves_with_path(pure_target)}
  out = []
  for name in sorted(set(stored) | set(want)):
    where = "/".join(name)
    if name not in stored:
      out.append(f"{where}: not in the checkpoint")
    elif name not in want:
      out.append(f"{where}: not in this model")
    elif stored[name] != want[name]:
      out.append(f"{where}: stored {stored[name]}, expected {want[name]}")
  return out


def _move_aside(mngr: ocp.CheckpointManager, broken: list[int]) -> None:
  """Moves unreadable steps out of the manager's directory (kept for a
  post-mortem), so that the resumed run can write those steps again."""
  if not broken:
    return
  root = pathlib.Path(mngr.directory)
  if jax.process_index() == 0:
    aside = root.parent / f"{root.name}_broken"
    aside.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for step in broken:
      src = root / str(step)
      if src.exists():
        dst = aside / f"{step}.{stamp}"
        shutil.move(str(src), str(dst))
        log.warning("moved unreadable checkpoint %s to %s", src, dst)
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices("signllm_checkpoint_move_aside")
  mngr.reload()


def _check_format(root: pathlib.Path, step: int) -> None:
  if (root / str(step) / _OLD_ITEM).is_dir() and not (
      root / str(step) / "params").is_dir():
    raise OldFormatError(
        f"checkpoint step {step} in {root} has the older layout (one fused "
        "'state' item); rewrite it as params + opt_state with `signllm "
        f"checkpoint migrate {root}`")


def _check_layout(root: pathlib.Path, step: int, item: str,
                  pure_target) -> None:
  mismatches = [f"{item}/{m}" for m in _layout_mismatches(
      root / str(step) / item, pure_target)]
  if mismatches:
    raise CheckpointMismatchError(
        f"checkpoint step {step} in {root} does not fit this model "
        f"({len(mismatches)} "
        f"{'array differs' if len(mismatches) == 1 else 'arrays differ'}: "
        f"{'; '.join(mismatches[:3])}). It was written with another "
        "config or by an older signllm-jax (MLSF checkpoints from before "
        "per-group Adam step counts store a scalar optimizer count)")


def restore_latest(mngr: ocp.CheckpointManager, *, state_target: nnx.State,
                   replay_target: Any = None) -> dict | None:
  """Restores the newest readable checkpoint into the given targets.

  `state_target` (model + optimizer) may be concrete (its shardings and
  dtypes are used) or abstract (ShapeDtypeStructs with shardings). Returns
  None when the directory holds no checkpoint. Returns a dict with `step`,
  `state` (an nnx.State shaped like the target), `data_state`,
  `replay_state` (shaped like `replay_target`), `meta`, and `skipped_steps`
  (newer steps that were unreadable; they are moved aside, see the module
  docstring).
  """
  steps = sorted(mngr.all_steps(), reverse=True)
  if not steps:
    return None
  root = pathlib.Path(mngr.directory)
  skipped = []
  pure_target = _abstract(_pure(state_target))
  params_target, opt_target = _split(pure_target)
  for step in steps:
    _check_format(root, step)
    _check_layout(root, step, "params", params_target)
    _check_layout(root, step, "opt_state", opt_target)
    items = {
        "params": ocp.args.StandardRestore(params_target),
        "opt_state": ocp.args.StandardRestore(opt_target),
        "data": ocp.args.JsonRestore(),
        "meta": ocp.args.JsonRestore(),
    }
    if replay_target is not None:
      items["replay"] = ocp.args.StandardRestore(_abstract(replay_target))
    try:
      restored = mngr.restore(step, args=ocp.args.Composite(**items))
      if restored["data"] is None or restored["meta"] is None:
        raise ValueError("the data or meta item is missing")
      replay = None
      if replay_target is not None:
        replay = _like(replay_target, restored["replay"])
    except Exception as e:  # noqa: BLE001 - any unreadable step falls back.
      log.warning("checkpoint step %d in %s is unreadable (%s: %s); falling "
                  "back to an older one", step, mngr.directory,
                  type(e).__name__,
                  str(e).splitlines()[0][:300] if str(e) else "")
      skipped.append(step)
      continue
    _move_aside(mngr, skipped)
    pure = {0: restored["params"], 1: restored["opt_state"]}
    if isinstance(state_target, nnx.State):
      state = jax.tree.map(lambda x: x, state_target)
      nnx.replace_by_pure_dict(state, pure)
    else:
      state = pure
    return {
        "step": step, "state": state, "data_state": restored["data"],
        "replay_state": replay, "meta": restored["meta"],
        "skipped_steps": skipped,
    }
  raise NoCheckpointError(
      f"no readable checkpoint in {mngr.directory}: steps {skipped} all "
      "failed to restore (see warnings above)")


def restore_params(ckpt_dir: str | pathlib.Path, params_target: nnx.State
                   ) -> tuple[int, nnx.State]:
  """(step, params) of the newest checkpoint: the model alone, read without
  an optimizer. Nothing falls back: an unreadable or mismatched checkpoint
  is an error naming what is wrong."""
  root = pathlib.Path(ckpt_dir).absolute()
  steps = sorted((int(p.name) for p in root.iterdir() if p.name.isdigit()),
                 reverse=True) if root.is_dir() else []
  if not steps:
    raise NoCheckpointError(f"no checkpoint in {root}")
  step = steps[0]
  _check_format(root, step)
  target = _abstract(_pure(params_target))
  _check_layout(root, step, "params", target)
  try:
    restored = ocp.StandardCheckpointer().restore(
        root / str(step) / "params", target)
  except Exception as e:  # noqa: BLE001 - orbax raises many types.
    raise NoCheckpointError(
        f"checkpoint step {step} in {root}: its params cannot be read "
        f"({type(e).__name__}: {str(e).splitlines()[0][:300]})") from None
  state = jax.tree.map(lambda x: x, params_target)
  nnx.replace_by_pure_dict(state, restored)
  return step, state


def migrate(ckpt_dir: str | pathlib.Path) -> list[int]:
  """Rewrites fused-`state` checkpoints as params + opt_state, in place.

  Returns the migrated steps. The old item is kept until the new ones are
  written, then removed; steps already in the new layout are left alone.
  """
  root = pathlib.Path(ckpt_dir).absolute()
  done = []
  for step_dir in sorted(p for p in root.iterdir() if p.name.isdigit()):
    old = step_dir / _OLD_ITEM
    if not old.is_dir() or (step_dir / "params").is_dir():
      continue
    with ocp.StandardCheckpointer() as ckptr:
      tree = ckptr.restore(old)
      params, opt = tree["0"] if "0" in tree else tree[0], (
          tree["1"] if "1" in tree else tree[1])
      ckptr.save(step_dir / "params", params)
      ckptr.save(step_dir / "opt_state", opt)
    shutil.rmtree(old)
    done.append(int(step_dir.name))
  return done
