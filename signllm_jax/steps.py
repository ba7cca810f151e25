"""Pure, jittable train and eval steps. No Python state, no logging, no clocks.

`state` is the nnx state of (model, optimizer); `graphdef` is closed over.
`state.py` jits these with in/out shardings and donates `state`.
"""

import operator
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from signllm_jax import languages
from signllm_jax import losses
from signllm_jax import model as model_lib
from signllm_jax import optim
from signllm_jax import rl


def _tree_select(keep_new, new, old):
  return jax.tree.map(lambda n, o: jnp.where(keep_new, n, o), new, old)


def _slice_groups(state, group_mask, lang):
  """The batch's MLSF group alone: flagged leaves cut to [lang:lang+1].

  Updating only this slice (params, Adam moments and the group's own Adam
  step count, optim.per_group_count) and writing it back leaves idle groups
  bit-identical and is the same update as a dense gradient masked to one
  group (tests/test_steps.py), without clipping, Adam and selects over every
  group (README, "Training throughput").
  """
  leaves, treedef = jax.tree.flatten(state)
  flags = jax.tree.leaves(group_mask)
  stacked = [x for x, g in zip(leaves, flags) if g]
  # A switch, not a fused dynamic slice: fused into the Adam update, the
  # full moments were read while their slices were written back in place,
  # and XLA copied every stacked buffer twice a step. A branch's outputs
  # are materialised, so the write-back stays in place.
  sliced = iter(jax.lax.switch(
      lang, [lambda i=i: [x[i:i + 1] for x in stacked]
             for i in range(stacked[0].shape[0])]))
  return jax.tree.unflatten(
      treedef, [next(sliced) if g else x for x, g in zip(leaves, flags)])


def _write_groups(state, part, group_mask, lang):
  """`part` (from _slice_groups) written back at group `lang`; in place when
  `state` is donated."""
  return jax.tree.map(
      lambda x, p, g: (jax.lax.dynamic_update_slice_in_dim(x, p, lang, 0)
                       if g else p),
      state, part, group_mask)


def _pad_time(batch, item_spec):
  """Pads each [B, T, ...] array up to the replay's fixed T (max_frames)."""
  out = {}
  for k, v in batch.items():
    target = item_spec[k].shape
    if v.ndim >= 2 and v.shape[1] != target[0]:
      pad = [(0, 0)] * v.ndim
      pad[1] = (0, target[0] - v.shape[1])
      v = jnp.pad(v, pad)
    out[k] = v
  return out


def _crop_time(items, t: int) -> dict:
  """Cuts the frame arrays of replayed rows to t frames (they fit in t)."""
  return {k: v[:, :t] if k in ("pose", "pose_mask") else v
          for k, v in items.items()}


def replay_item_spec(batch, *, max_frames: int) -> dict:
  """Per-row shapes the replay stores: frame arrays at max_frames."""
  spec = {}
  for k, v in batch.items():
    shape = tuple(v.shape)
    if k in ("pose", "pose_mask"):
      shape = (shape[0], max_frames) + shape[2:]
    spec[k] = jax.ShapeDtypeStruct(shape, v.dtype)
  return spec


def make_train_step(graphdef, *, model_cfg, rl_cfg, group_mask=None,
                    plateau: bool = False, mesh=None, seed: int = 0,
                    num_replay: int | None = None) -> Callable:
  """Returns train_step(state, rl_state, batch) -> (state, rl_state, metrics).

  rl.mode "rl_plc" appends replayed rows (same language as the batch) to the
  fresh ones, then stores the fresh rows and refreshes the replayed rows'
  priorities, all inside this one compiled step. `num_replay` is the number
  of replayed rows (the trainer's `rl.replay_batch_size` of data.batch_size);
  None derives it from the fresh batch (replay_mix "append").
  """
  use_replay = rl_cfg.mode == "rl_plc"

  def train_step(full_state, rl_state, batch):
    state = full_state
    if group_mask is not None:
      # The sliced model holds the batch's group at index 0 (model_inputs).
      state = _slice_groups(full_state, group_mask, batch["lang"][0])
    # copy=True: the update mutates the model's Variables in place, and
    # `state` must keep the old values for the non-finite select.
    model, optimizer = nnx.merge(graphdef, state, copy=True)
    b_fresh = batch["example_mask"].shape[0]
    sample = None
    inputs = batch
    is_weights_B = None
    if use_replay:
      fresh = _pad_time(batch, {k: jax.ShapeDtypeStruct(v.shape[1:], v.dtype)
                                for k, v in rl_state.replay.items.items()})
      num = (rl.replay_batch_size(b_fresh, rl_cfg, rl.num_shards(mesh))
             if num_replay is None else num_replay)
      key = jax.random.fold_in(jax.random.key(seed),
                               optimizer.step[...].astype(jnp.uint32))
      # Only rows that fit the fresh batch's frame bucket are drawn, and
      # they are cut to it: padding the fresh rows up to the replay's
      # max_frames instead made every short-bucket step pay for the longest
      # bucket (measured +66% a step against +25% for the extra rows).
      t_fresh = batch["pose"].shape[1]
      sample = rl.replay_sample(rl_state, key, rl_cfg, num=num,
                                lang=batch["lang"][0], max_length=t_fresh,
                                mesh=mesh)
      replayed = _crop_time(dict(sample.items), t_fresh)
      replayed["example_mask"] = sample.valid & replayed["example_mask"]
      inputs = {k: jnp.concatenate([batch[k], replayed[k]], 0)
                for k in batch}
      is_weights_B = jnp.concatenate(
          [jnp.ones((b_fresh,), jnp.float32),
           sample.is_weights.astype(jnp.float32)], 0)

    model_inputs = inputs
    if group_mask is not None:
      model_inputs = dict(inputs, lang=jnp.zeros_like(inputs["lang"]))

    def loss_fn(model):
      out = model(model_inputs, train=True)
      _, aux = losses.total_loss(out, inputs, model_cfg)
      loss, rl_metrics, new_rl_state = rl.objective(
          aux["per_example_loss"], aux["per_example_mse"], rl_cfg,
          example_mask_B=inputs["example_mask"], rl_state=rl_state,
          is_weights_B=is_weights_B)
      return loss, (aux, rl_metrics, new_rl_state)

    (loss, (aux, rl_metrics, new_rl_state)), grads = nnx.value_and_grad(
        loss_fn, has_aux=True)(model)
    grad_norm = optax.tree.norm(grads)
    # A non-finite loss or gradient skips the whole update (counted on host).
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
    if rl_state is not None:
      new_rl_state = new_rl_state._replace(reward_range=_tree_select(
          finite, new_rl_state.reward_range, rl_state.reward_range))
    if use_replay:
      # A non-finite step writes nothing, rather than selecting the old
      # buffer afterwards: the select kept both buffers alive, so the
      # in-place writes became a copy of the whole replay every step.
      mse_B = aux["per_example_mse"]
      new_rl_state = rl.replay_record(
          new_rl_state, rl_cfg, fresh_B=fresh, fresh_mse_B=mse_B[:b_fresh],
          fresh_mask_B=batch["example_mask"] & finite,
          sample=sample._replace(valid=sample.valid & finite),
          replay_mse_R=mse_B[b_fresh:], mesh=mesh)
      rl_metrics = dict(rl_metrics)
      rl_metrics["rl/replayed"] = jnp.sum(sample.valid.astype(jnp.int32))
    plateau_metrics = {}
    if plateau:
      optimizer.update(model, grads, value=loss)
      # The learning rate actually applied is the schedule's times the
      # scale of reduce_on_plateau, the chain's last transform (optim.py).
      chain = nnx.to_pure_dict(nnx.state(optimizer.opt_state))
      plateau_metrics["lr_scale"] = chain[max(chain)]["scale"]
    else:
      optimizer.update(model, grads)
    new_state = nnx.state((model, optimizer))
    apply = finite
    if "rl/all_skipped" in rl_metrics:
      # The skip rule dropped every example: the loss is 0, but Adam's
      # momentum would still move the model; skipping means no update.
      apply = finite & (rl_metrics["rl/all_skipped"] == 0)
    new_state = _tree_select(apply, new_state, state)
    if group_mask is not None:
      new_state = _write_groups(full_state, new_state, group_mask,
                                batch["lang"][0])
    metrics = {
        "loss": loss,
        "grad_norm": grad_norm,
        "nonfinite": jnp.logical_not(finite).astype(jnp.int32),
        "frames": jnp.sum(batch["pose_mask"].astype(jnp.int32)),
        **{k: v for k, v in aux.items() if not k.startswith("per_example")},
        **rl_metrics,
        **plateau_metrics,
    }
    return new_state, new_rl_state, metrics

  return train_step


def make_eval_step(graphdef, *, model_cfg) -> Callable:
  """Teacher-forced validation loss; per-example values for exact averaging."""

  def eval_step(state, batch):
    model, _ = nnx.merge(graphdef, state)
    out = model(batch, train=False)
    _, aux = losses.total_loss(out, batch, model_cfg)
    mask = batch["example_mask"].astype(jnp.float32)
    return {
        "loss_sum": jnp.sum(aux["per_example_loss"] * mask),
        "mse_sum": jnp.sum(aux["per_example_mse"] * mask),
        "count": jnp.sum(mask),
    }

  return eval_step


def is_stacked_mlsf(model_cfg) -> bool:
  """MLSF with one group per language, stacked: the slice-update path."""
  return model_cfg.mode == "mlsf" and not model_cfg.shared_multilingual


def stacked_groups(model_cfg) -> int | None:
  """`num_groups` for optim.make_optimizer: one Adam count per stacked MLSF
  group, None for models without groups."""
  return languages.NUM_LANGS if is_stacked_mlsf(model_cfg) else None


def group_leaf_mask(state: Any, num_langs: int) -> Any:
  """True for leaves stacked along the language axis: the model's groups and
  their optimizer moments (model.stacked_param_mask) and the optimizer's
  per-group step count (optim.per_group_count)."""
  counts = jax.tree_util.tree_map_with_path(
      lambda path, leaf: optim.is_per_group_count(path, leaf, num_langs),
      state)
  return jax.tree.map(operator.or_, model_lib.stacked_param_mask(state),
                      counts)
