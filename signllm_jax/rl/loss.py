"""The RL loss: the plain masked mean, or the reward-gated objective.

Paper (section 4.4): r = -MSE per sample and theta* = argmax E[sum_t r_t] =
argmin E[sum_t L(y_t, M(x_t))], plus "if the reward is less than 50%, skip".
Maximising the summed reward is minimising the summed loss, so the objective
gives every kept example the same weight; what makes it differ from plain
MSE training is the skip rule (and, with the Priority Learning Channel, which
examples are in the batch). Decisions, all visible in `rl_objective`:

- The loss of mode "mse" is exactly the plain masked mean over examples,
      m_b = example_mask_B.astype(L.dtype)
      loss = jnp.sum(L_b * m_b) / jnp.maximum(jnp.sum(m_b), 1)
  (`masked_mean`; the same reduction as `signllm_jax.losses`), which is
  bit-identical to sum(L_b m_b) / sum(m_b) whenever an example is valid, and
  0 rather than NaN when none is. No skip, no state.
- Modes "rl" and "rl_plc":
      w_b = m_b * keep_b * is_b
      loss = sum_b w_b L_b / sum_b w_b       (0 when sum_b w_b == 0)
  with keep_b from `reward.keep_mask` (the configured skip rule) and is_b the
  importance-sampling weight of a replayed example (1 for fresh examples, and
  1 everywhere while `is_beta` is None, the paper's setting). Skipped examples
  are left out of both sums, i.e. the loss is the mean over the kept examples
  ("skip" = as if they were not in the batch), not a down-scaled mean over
  all. When everything is skipped the loss is exactly 0 with zero gradients
  (the step becomes a no-op for the model; Adam's momentum still moves it,
  which the trainer may mask) and `rl/all_skipped` is 1.
- The reward is computed from `mse_B` (the pose MSE over real frames), not
  from `per_example_loss_B`, which may hold extra terms (e.g. a gloss
  cross-entropy in Prompt2LangGloss); the reward never carries gradient.
"""

from typing import Any

import jax
import jax.numpy as jnp

from signllm_jax.rl import reward

MODES = ("mse", "rl", "rl_plc")

# The only state the objective carries: the running reward range used by
# skip_rule="normalised".
RLState = reward.RewardRange


def init_rl_state() -> RLState:
  """State for `rl_objective` (checkpoint it with the train state)."""
  return reward.init_reward_range()


def masked_mean(per_example_loss_B: jax.Array,
                example_mask_B: jax.Array) -> jax.Array:
  """sum(L_b m_b) / max(sum(m_b), 1): THE plain loss (mode "mse")."""
  m_B = example_mask_B.astype(per_example_loss_B.dtype)
  return jnp.sum(per_example_loss_B * m_B) / jnp.maximum(jnp.sum(m_B), 1.0)


def weighted_mean(per_example_loss_B: jax.Array,
                  weight_B: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(sum w L / sum w, sum w), with 0 (and zero gradient) when sum w == 0."""
  w_B = weight_B.astype(per_example_loss_B.dtype)
  total = jnp.sum(w_B)
  nonzero = total > 0
  # Safe denominator so that the untaken branch has no NaN gradient either.
  loss = jnp.sum(per_example_loss_B * w_B) / jnp.where(nonzero, total, 1.0)
  return jnp.where(nonzero, loss, jnp.zeros_like(loss)), total


def rl_objective(per_example_loss_B: jax.Array, mse_B: jax.Array,
                 rl_cfg: Any, *, example_mask_B: jax.Array,
                 rl_state: RLState | None = None,
                 is_weights_B: jax.Array | None = None,
                 ) -> tuple[jax.Array, dict[str, jax.Array], RLState | None]:
  """The training loss of the configured mode, its metrics and new state.

  Args:
    per_example_loss_B: the differentiable per-example loss (float).
    mse_B: per-example pose MSE over real frames (the reward source).
    rl_cfg: the `rl` config block (`signllm_jax.rl.default_rl_config()`);
      reads mode, skip_rule, skip_threshold, skip_unit (absent: "example").
      Static under jit.
    example_mask_B: which rows are real examples (bool or 0/1).
    rl_state: `init_rl_state()` or the previous step's; required only by
      skip_rule="normalised" in modes "rl"/"rl_plc".
    is_weights_B: importance-sampling weights (replay rows; 1 for fresh
      rows), or None for all ones.

  Returns:
    (loss scalar, metrics dict of float32 scalars, new rl_state (the input
    one when the mode/rule keeps no state)).
  """
  if rl_cfg.mode not in MODES:
    raise ValueError(f"rl mode {rl_cfg.mode!r} is not one of {MODES}")
  valid_B = example_mask_B.astype(bool)
  n_valid = jnp.sum(valid_B).astype(jnp.float32)
  reward_B = reward.reward_from_mse(mse_B)
  reward_mean = (jnp.sum(jnp.where(valid_B, reward_B, 0.0))
                 / jnp.maximum(n_valid, 1.0))
  if rl_cfg.mode == "mse":
    loss = masked_mean(per_example_loss_B, example_mask_B)
    return loss, {"rl/reward_mean": reward_mean}, rl_state

  keep_B, rl_state, level = reward.keep_mask(
      reward_B, valid_B, rule=rl_cfg.skip_rule,
      threshold=rl_cfg.skip_threshold,
      unit=getattr(rl_cfg, "skip_unit", "example"),
      reward_range=rl_state)
  weight_B = keep_B.astype(jnp.float32)
  if is_weights_B is not None:
    weight_B = weight_B * jax.lax.stop_gradient(is_weights_B)
  loss, _ = weighted_mean(per_example_loss_B, weight_B)
  n_kept = jnp.sum(keep_B).astype(jnp.float32)
  metrics = {
      "rl/reward_mean": reward_mean,
      "rl/threshold": level.astype(jnp.float32),
      "rl/kept": n_kept,
      "rl/skipped_frac": (n_valid - n_kept) / jnp.maximum(n_valid, 1.0),
      "rl/all_skipped": (n_kept == 0).astype(jnp.float32),
  }
  return loss, metrics, rl_state
