"""Per-example rewards and the "skip when the reward is below 50%" rule.

The paper (section 4.4) defines the reward of one sample as its negative mean
squared error, r = -(1/N) sum_i (y_i - yhat_i)^2, and says "if the reward is
less than 50%, skip the batch". A reward is <= 0 and has no natural scale, so
"50%" needs an interpretation. The project exposes three (`skip_rule`):

- "batch_quantile" (default): an example is skipped when its reward is below
  the `threshold`-quantile (0.5 = the median) of the rewards of the valid
  examples in the same batch (linear interpolation between order statistics,
  as `jnp.quantile`). Scale-free and stateless; at 0.5 about half of every
  batch is kept, so it is always a per-example rule.
- "normalised": the reward is mapped to [0, 1] by a running min/max over all
  rewards seen so far (`RewardRange`, state the caller carries between steps;
  the range is widened by the current batch *before* normalising, so it is
  always defined). Skip when the normalised reward is below `threshold`.
  While the range is degenerate (max == min, e.g. the very first example) the
  normalised reward is defined as 1, i.e. nothing is skipped.
- "none": nothing is skipped (the ablation "RL loss without the skip rule").

`skip_unit` chooses what is skipped: "example" (default: the examples below the
threshold are dropped from the loss) or "batch" (the literal wording: the whole
batch is dropped when its mean normalised reward is below the threshold; only
meaningful with "normalised", since a batch is never below its own median).

Invalid examples (padding rows, empty replay draws: `example_mask_B` False)
never take part in a quantile or a range update and are never "kept".
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

SKIP_RULES = ("batch_quantile", "normalised", "none")
SKIP_UNITS = ("example", "batch")


class RewardRange(NamedTuple):
  """Running min/max of the rewards seen so far (for skip_rule="normalised").

  Both are float32 scalars; +inf / -inf before the first valid reward. A plain
  pytree of arrays, so it checkpoints with orbax like the replay state.
  """
  reward_min: jax.Array
  reward_max: jax.Array


def init_reward_range() -> RewardRange:
  """An empty range (no reward seen yet)."""
  return RewardRange(reward_min=jnp.array(jnp.inf, jnp.float32),
                     reward_max=jnp.array(-jnp.inf, jnp.float32))


def reward_from_mse(mse_B: jax.Array) -> jax.Array:
  """r_b = -mse_b, with the gradient stopped (the reward is a constant weight).

  Args:
    mse_B: per-example MSE over each example's real frames (what the loss
      module returns as `mse_B`).

  Returns:
    float32 rewards, same shape.
  """
  return -jax.lax.stop_gradient(mse_B).astype(jnp.float32)


def update_range(reward_range: RewardRange, reward_B: jax.Array,
                 example_mask_B: jax.Array) -> RewardRange:
  """Widens the running range by the valid rewards of this batch."""
  valid_B = example_mask_B.astype(bool)
  lo = jnp.min(jnp.where(valid_B, reward_B, jnp.inf))
  hi = jnp.max(jnp.where(valid_B, reward_B, -jnp.inf))
  return RewardRange(reward_min=jnp.minimum(reward_range.reward_min, lo),
                     reward_max=jnp.maximum(reward_range.reward_max, hi))


def normalise(reward_B: jax.Array, reward_range: RewardRange) -> jax.Array:
  """Maps rewards to [0, 1] by the range; 1 where the range is degenerate."""
  span = reward_range.reward_max - reward_range.reward_min
  ok = jnp.isfinite(span) & (span > 0)
  safe_span = jnp.where(ok, span, 1.0)
  norm_B = (reward_B - reward_range.reward_min) / safe_span
  return jnp.where(ok, jnp.clip(norm_B, 0.0, 1.0), 1.0)


def masked_quantile(x_B: jax.Array, mask_B: jax.Array, q: float) -> jax.Array:
  """The q-quantile of x over mask (linear interpolation); NaN if mask empty."""
  return jnp.nanquantile(jnp.where(mask_B.astype(bool), x_B, jnp.nan), q)


def keep_mask(reward_B: jax.Array, example_mask_B: jax.Array, *,
              rule: str, threshold: float, unit: str = "example",
              reward_range: RewardRange | None = None,
              ) -> tuple[jax.Array, RewardRange | None, jax.Array]:
  """Which examples survive the skip rule.

  Args:
    reward_B: float rewards (see `reward_from_mse`).
    example_mask_B: bool/0-1, the examples that exist.
    rule: one of SKIP_RULES (see the module docstring).
    threshold: the quantile ("batch_quantile") or normalised level
      ("normalised"); ignored by "none".
    unit: one of SKIP_UNITS.
    reward_range: the running range; required by "normalised".

  Returns:
    (keep_B bool, the updated range (the input one for other rules),
     the threshold actually applied, as a float32 scalar: the reward quantile
     for "batch_quantile", `threshold` for "normalised", -inf for "none").
  """
  if rule not in SKIP_RULES:
    raise ValueError(f"rl skip_rule {rule!r} is not one of {SKIP_RULES}")
  if unit not in SKIP_UNITS:
    raise ValueError(f"rl skip_unit {unit!r} is not one of {SKIP_UNITS}")
  valid_B = example_mask_B.astype(bool)
  if rule == "none":
    return valid_B, reward_range, jnp.array(-jnp.inf, jnp.float32)
  if rule == "batch_quantile":
    if unit == "batch":
      raise ValueError("rl skip_unit='batch' needs skip_rule='normalised': a "
                       "batch is never below its own quantile")
    level = masked_quantile(reward_B, valid_B, threshold)
    return valid_B & (reward_B >= level), reward_range, level
  if reward_range is None:
    raise ValueError("rl skip_rule='normalised' needs the running reward "
                     "range (rl_state=loss.init_rl_state())")
  reward_range = update_range(reward_range, reward_B, valid_B)
  norm_B = normalise(reward_B, reward_range)
  level = jnp.array(threshold, jnp.float32)
  if unit == "example":
    keep_B = norm_B >= level
  else:
    count = jnp.maximum(jnp.sum(valid_B), 1)
    mean = jnp.sum(jnp.where(valid_B, norm_B, 0.0)) / count
    keep_B = jnp.broadcast_to(mean >= level, valid_B.shape)
  return valid_B & keep_B, reward_range, level
