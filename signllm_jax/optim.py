"""The optax chain of `cfg.optim`: clipping, Adam(W), the lr schedule."""

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


def make_optimizer(optim_cfg, total_steps: int) -> optax.GradientTransformation:
  """Adam with global-norm clipping, as PT (lr 1e-3, clip 5) by default."""
  schedule = learning_rate_schedule(optim_cfg, total_steps)
  if optim_cfg.name == "adam":
    opt = optax.adam(schedule, b1=optim_cfg.b1, b2=optim_cfg.b2,
                     eps=optim_cfg.eps)
  elif optim_cfg.name == "adamw":
    opt = optax.adamw(schedule, b1=optim_cfg.b1, b2=optim_cfg.b2,
                      eps=optim_cfg.eps, weight_decay=optim_cfg.weight_decay)
  else:
    raise ValueError(f"unknown optim.name {optim_cfg.name!r} (adam, adamw)")
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
