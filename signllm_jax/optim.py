"""The optax chain of `cfg.optim`: clipping, Adam(W), the lr schedule.

MLSF's language groups are independent models stacked on one axis, and each
step updates one of them (steps.py). Their Adam bias correction must count
that group's own updates: with the global count a group that has had k of t
updates (k ~ t/8) divides its second moment by (1 - b2^t) instead of
(1 - b2^k), i.e. takes steps 2.6x too large at the end of warmup and
still 1.3x at mid-run. `per_group_count` keeps one count per group (README,
"MLSF on SynthSign small").
"""

import jax.numpy as jnp
import optax


def learning_rate_schedule(optim_cfg, total_steps: int) -> optax.Schedule:
  lr = optim_cfg.lr
  kind = optim_cfg.schedule
  warmup = int(optim_cfg.warmup_steps)
  if kind in ("constant", "plateau"):
    # plateau scales this constant by optax.contrib.reduce_on_plateau.
    if warmup:
      return optax.join_schedules(
          [optax.linear_schedule(0.0, lr, warmup), optax.constant_schedule(lr)],
          [warmup])
    return optax.constant_schedule(lr)
  if kind == "cosine":
    return optax.warmup_cosine_decay_schedule(
        0.0 if warmup else lr, lr, max(warmup, 1) if warmup else 1,
        max(total_steps, warmup + 1), end_value=lr * optim_cfg.final_lr_frac)
  raise ValueError(f"unknown optim.schedule {kind!r} "
                   "(constant, cosine, plateau)")


def per_group_count(inner: optax.GradientTransformation,
                    num_groups: int) -> optax.GradientTransformation:
  """`inner` (a state with a scalar `count`, e.g. scale_by_adam) keeping one
  count per stacked group.

  The state's count has shape [num_groups]; `update` must be given one
  group's slice (count of shape [1], as steps._slice_groups cuts it), and
  runs `inner` with that group's own count.
  """
  def init(params):
    state = inner.init(params)
    return state._replace(
        count=jnp.zeros((num_groups,), jnp.asarray(state.count).dtype))

  def update(updates, state, params=None):
    if state.count.shape != (1,):
      raise ValueError(
          f"per-group optimizer state updated with count shape "
          f"{state.count.shape}: pass one group's slice (shape (1,)), not "
          f"all {num_groups} groups")
    new_updates, new_state = inner.update(
        updates, state._replace(count=state.count[0]), params)
    return new_updates, new_state._replace(count=new_state.count[None])

  return optax.GradientTransformation(init, update)


def is_per_group_count(path, leaf, num_groups: int) -> bool:
  """True for a `per_group_count` count leaf of an optimizer state (a pure
  pytree, or an nnx.State whose paths end in `.value`)."""
  names = [getattr(k, "key", getattr(k, "name", None)) for k in path]
  if names and names[-1] == "value":
    names = names[:-1]
  return (bool(names) and names[-1] == "count"
          and getattr(leaf, "shape", None) == (num_groups,))


def make_optimizer(optim_cfg, total_steps: int, *,
                   num_groups: int | None = None
                   ) -> optax.GradientTransformation:
  """Adam with global-norm clipping, as PT (lr 1e-3, clip 5) by default.

  num_groups: MLSF stacked groups updated one at a time; Adam then counts
  each group's own steps (`per_group_count`). The lr schedule stays on the
  global step: it is the run's clock.
  """
  schedule = learning_rate_schedule(optim_cfg, total_steps)
  if optim_cfg.name not in ("adam", "adamw"):
    raise ValueError(f"unknown optim.name {optim_cfg.name!r} (adam, adamw)")
  # optax.adam / optax.adamw spelled out (same transforms, same state
  # nesting) so that scale_by_adam's count can be made per group.
  adam = optax.scale_by_adam(b1=optim_cfg.b1, b2=optim_cfg.b2,
                             eps=optim_cfg.eps)
  if num_groups:
    adam = per_group_count(adam, num_groups)
  opt_parts = [adam]
  if optim_cfg.name == "adamw":
    opt_parts.append(optax.add_decayed_weights(optim_cfg.weight_decay))
  opt_parts.append(optax.scale_by_learning_rate(schedule))
  opt = optax.chain(*opt_parts)
  parts = []
  if optim_cfg.clip_norm:
    parts.append(optax.clip_by_global_norm(optim_cfg.clip_norm))
  parts.append(opt)
  if optim_cfg.schedule == "plateau":
    # PT's plateau schedule, driven by the training loss passed as `value`.
    parts.append(optax.contrib.reduce_on_plateau(
        factor=optim_cfg.plateau_factor, patience=optim_cfg.plateau_patience,
        cooldown=0, accumulation_size=optim_cfg.plateau_accumulation))
  return optax.chain(*parts)
