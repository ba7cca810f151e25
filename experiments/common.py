"""Helpers shared by experiment files: `key=value,flag` args (big_vision)."""

from typing import Any


def parse_arg(arg: str | None, **defaults: Any) -> dict[str, Any]:
  """'smoke' / 'variant=base-40m,langs=ASL' -> typed dict over `defaults`.

  A bare word sets the boolean of that name to True, or, if a default named
  `variant` exists and the word is not a known flag, selects that variant.
  """
  out = dict(defaults)
  if not arg:
    return out
  for part in arg.split(","):
    part = part.strip()
    if not part:
      continue
    key, sep, value = part.partition("=")
    if not sep:
      if key in out and isinstance(out[key], bool):
        out[key] = True
        continue
      if "variant" in out:
        out["variant"] = key
        continue
      raise ValueError(f"unknown flag {key!r} in config arg {arg!r}")
    if key not in out:
      raise ValueError(f"unknown key {key!r} in config arg {arg!r}; "
                       f"known: {sorted(out)}")
    current = out[key]
    if isinstance(current, bool):
      word = value.lower()
      if word not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError(f"{key}={value!r} in config arg {arg!r} is not a "
                         "boolean (true/false, yes/no, 1/0)")
      out[key] = word in ("1", "true", "yes")
    elif isinstance(current, int):
      out[key] = int(value)
    elif isinstance(current, float):
      out[key] = float(value)
    else:
      out[key] = value
  return out


def apply_smoke(cfg) -> None:
  """Shrinks every size so a run takes seconds on 2 CPU cores (tests)."""
  cfg.model.variant = "smoke"
  cfg.data.config = "tiny"
  cfg.data.batch_size = 8
  cfg.data.max_frames = 64
  cfg.data.frame_buckets = (64,)
  cfg.data.max_text_len = 24
  cfg.data.max_prompt_len = 48
  cfg.data.max_gloss_len = 32
  cfg.train.steps = 6
  cfg.train.log_every = 2
  cfg.train.eval_every = 6
  cfg.train.eval_batches = 2
  cfg.train.ckpt_every = 3
  cfg.train.async_checkpointing = False
  cfg.train.progress = False
  cfg.generate.max_frames = 64
  cfg.generate.max_gloss_len = 32
  cfg.rl.replay_capacity = 32
  cfg.rl.min_replay_size = 8


def apply_cpu_run(cfg, steps: int, *, warmup_steps: int = 400) -> None:
  """The 2-core CPU recipes' shared training settings: up to 128 frames in
  two buckets, a cosine schedule to 5% over `steps`, logs every 50 steps,
  a dev evaluation and a checkpoint every 500 (measured in mlsf_cpu.py)."""
  cfg.data.max_frames = 128
  cfg.data.frame_buckets = (64, 128)
  cfg.optim.schedule = "cosine"
  cfg.optim.warmup_steps = warmup_steps
  cfg.optim.final_lr_frac = 0.05
  cfg.train.steps = steps
  cfg.train.log_every = 50
  cfg.train.eval_every = 500
  cfg.train.eval_batches = 16
  cfg.train.ckpt_every = 500
