"""Tests for signllm_jax.rl.loss and the rl config block."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from signllm_jax import rl
from signllm_jax.rl import loss


def _cfg(**overrides):
  cfg = rl.default_rl_config()
  for k, v in overrides.items():
    cfg[k] = v
  rl.validate(cfg)
  return cfg


def test_default_config_is_valid_and_paper_defaults():
  cfg = rl.default_rl_config()
  rl.validate(cfg)
  assert cfg.mode == "mse" and cfg.skip_threshold == 0.5
  assert cfg.is_beta is None
  cfg.is_beta = 0.4  # the None default still takes a float override
  assert cfg.is_beta == 0.4


@pytest.mark.parametrize("field,value", [
    ("mode", "ppo"), ("priority_fn", "sqrt"), ("skip_rule", "mean"),
    ("skip_threshold", 1.5), ("replay_fraction", 1.0), ("eta", -1.0),
    ("skip_unit", "batch"),  # needs skip_rule="normalised"
])
def test_validate_names_the_bad_field(field, value):
  cfg = rl.default_rl_config()
  cfg[field] = value
  with pytest.raises(ValueError, match=field):
    rl.validate(cfg)


def test_replay_batch_size():
  assert rl.replay_batch_size(32, _cfg(mode="rl")) == 0
  assert rl.replay_batch_size(32, _cfg(mode="rl_plc")) == 8
  assert rl.replay_batch_size(32, _cfg(mode="rl_plc", replay_fraction=0.3),
                              num_shards=8) == 8  # round(9.6)=10 -> 8


def test_fresh_batch_size_append_replace_and_errors():
  assert rl.fresh_batch_size(32, _cfg(mode="rl")) == 32
  assert rl.fresh_batch_size(32, _cfg(mode="rl_plc")) == 24  # replace
  assert rl.fresh_batch_size(32, _cfg(mode="rl_plc", replay_mix="append")
                             ) == 32
  assert rl.fresh_batch_size(32, _cfg(mode="rl_plc", replay_mix="replace")
                             ) == 24
  assert rl.fresh_batch_size(
      32, _cfg(mode="rl_plc", replay_mix="replace"), num_shards=8) == 24
  with pytest.raises(ValueError, match="replays nothing"):
    rl.fresh_batch_size(8, _cfg(mode="rl_plc", replay_mix="append"),
                        num_shards=8)
  with pytest.raises(ValueError, match="replay_mix"):
    rl.validate(_cfg(mode="rl_plc", replay_mix="both"))


def test_mse_mode_is_bit_identical_to_plain_masked_mean():
  key = jax.random.key(3)
  l_B = jax.random.uniform(key, (13,), jnp.float32) * 7.3
  m_B = jnp.arange(13) % 4 != 1
  cfg = _cfg(mode="mse")

  def plain(l_B, m_B):
    m = m_B.astype(l_B.dtype)
    return jnp.sum(l_B * m) / jnp.sum(m)

  got, _, _ = loss.rl_objective(l_B, l_B * 0.5, cfg, example_mask_B=m_B)
  assert np.asarray(got).tobytes() == np.asarray(plain(l_B, m_B)).tobytes()
  got_jit = jax.jit(lambda l, m: loss.rl_objective(
      l, l, cfg, example_mask_B=m)[0])(l_B, m_B)
  assert (np.asarray(got_jit).tobytes()
          == np.asarray(jax.jit(plain)(l_B, m_B)).tobytes())
  assert (np.asarray(loss.masked_mean(l_B, m_B)).tobytes()
          == np.asarray(plain(l_B, m_B)).tobytes())


def test_rl_mode_hand_computed():
  # mse = loss here; rewards -1,-2,-3,-4 (row 4 padding): median of the
  # valid three is -2, so rows 0 and 1 are kept: loss = (1 + 2) / 2.
  l_B = jnp.array([1., 2., 3., 100.])
  m_B = jnp.array([1, 1, 1, 0])
  got, metrics, state = loss.rl_objective(l_B, l_B, _cfg(mode="rl"),
                                          example_mask_B=m_B)
  assert float(got) == pytest.approx(1.5)
  assert float(metrics["rl/kept"]) == 2
  assert float(metrics["rl/skipped_frac"]) == pytest.approx(1 / 3)
  assert float(metrics["rl/all_skipped"]) == 0
  assert float(metrics["rl/reward_mean"]) == pytest.approx(-2.0)
  assert state is None


def test_rl_reward_comes_from_mse_not_the_loss():
  # The loss ranks the rows one way, the mse the other: mse decides.
  l_B = jnp.array([1., 10.])
  mse_B = jnp.array([5., 0.5])
  got, _, _ = loss.rl_objective(l_B, mse_B, _cfg(mode="rl"),
                                example_mask_B=jnp.ones(2, bool))
  assert float(got) == pytest.approx(10.)


def test_gradient_only_through_kept_rows():
  mse_B = jnp.array([1., 2., 3., 4.])

  def f(l_B):
    return loss.rl_objective(l_B, mse_B, _cfg(mode="rl"),
                             example_mask_B=jnp.ones(4, bool))[0]

  grad = jax.grad(f)(mse_B)
  np.testing.assert_allclose(grad, [0.5, 0.5, 0., 0.])


def test_all_skipped_gives_zero_finite_loss_and_gradient():
  # Normalised rewards {0.1, 0.2} under a range [-10, 0] are below 0.5.
  state = loss.RLState(jnp.float32(-10.), jnp.float32(0.))
  cfg = _cfg(mode="rl", skip_rule="normalised")
  mse_B = jnp.array([9., 8.])

  def f(l_B):
    return loss.rl_objective(l_B, mse_B, cfg, example_mask_B=jnp.ones(2),
                             rl_state=state)

  value, metrics, new_state = f(mse_B)
  grad = jax.grad(lambda l: f(l)[0])(mse_B)
  assert float(value) == 0.0 and np.isfinite(float(value))
  np.testing.assert_array_equal(grad, [0., 0.])
  assert float(metrics["rl/all_skipped"]) == 1
  assert float(metrics["rl/skipped_frac"]) == 1
  assert float(new_state.reward_min) == -10.


def test_no_valid_rows_in_rl_mode_is_zero_not_nan():
  got, metrics, _ = loss.rl_objective(
      jnp.array([1., 2.]), jnp.array([1., 2.]), _cfg(mode="rl"),
      example_mask_B=jnp.zeros(2, bool))
  assert float(got) == 0.0
  assert float(metrics["rl/all_skipped"]) == 1


def test_is_weights_weight_the_kept_rows():
  l_B = jnp.array([1., 3., 50.])
  got, _, _ = loss.rl_objective(
      l_B, jnp.array([1., 1., 9.]), _cfg(mode="rl_plc"),
      example_mask_B=jnp.ones(3, bool),
      is_weights_B=jnp.array([1., 0.5, 1.]))
  # Row 2 is skipped; (1*1 + 0.5*3) / 1.5.
  assert float(got) == pytest.approx(2.5 / 1.5)


def test_normalised_rule_threads_state_under_jit():
  cfg = _cfg(mode="rl", skip_rule="normalised")
  step = jax.jit(lambda l, s: loss.rl_objective(
      l, l, cfg, example_mask_B=jnp.ones(3, bool), rl_state=s))
  _, m1, s1 = step(jnp.array([1., 2., 3.]), loss.init_rl_state())
  assert float(s1.reward_min) == -3. and float(s1.reward_max) == -1.
  assert float(m1["rl/kept"]) == 2  # normalised 1, .5, 0
  _, m2, s2 = step(jnp.array([0.5, 5., 2.]), s1)
  assert float(s2.reward_min) == -5. and float(s2.reward_max) == -0.5
  assert float(m2["rl/kept"]) == 2  # normalised 1, 0, 2/3


def test_mse_mode_with_no_valid_rows_is_zero():
  got, _, _ = loss.rl_objective(jnp.array([1., 2.]), jnp.array([1., 2.]),
                                _cfg(mode="mse"),
                                example_mask_B=jnp.zeros(2, bool))
  assert float(got) == 0.0


def test_package_objective_threads_rl_train_state():
  assert rl.init_state(_cfg(mode="mse"), example_batch={}) is None
  assert not rl.has_state(_cfg(mode="mse"))
  cfg = _cfg(mode="rl", skip_rule="normalised")
  state = rl.init_state(cfg, example_batch={})
  assert rl.has_state(cfg) and state.replay is None
  l_B = jnp.array([1., 2., 3.])
  value, _, new_state = jax.jit(lambda l, s: rl.objective(
      l, l, cfg, example_mask_B=jnp.ones(3, bool), rl_state=s))(l_B, state)
  assert float(value) == pytest.approx(1.5)
  assert float(new_state.reward_range.reward_min) == -3.
  value, _, none_state = rl.objective(l_B, l_B, _cfg(mode="mse"),
                                      example_mask_B=jnp.ones(3, bool))
  assert none_state is None and float(value) == pytest.approx(2.0)


def test_config_without_the_newer_fields_still_works():
  # An older block (no skip_unit / priority_eps) falls back to defaults.
  cfg = rl.default_rl_config()
  del cfg["skip_unit"]
  del cfg["priority_eps"]
  cfg.mode = "rl"
  rl.validate(cfg)
  got, _, _ = loss.rl_objective(jnp.array([1., 3.]), jnp.array([1., 3.]),
                                cfg, example_mask_B=jnp.ones(2, bool))
  assert float(got) == 1.0


def test_config_without_replay_mix_keeps_appending():
  # Workdirs written before replay_mix existed appended the replayed rows.
  cfg = rl.default_rl_config()
  assert cfg.replay_mix == "replace"
  cfg.mode = "rl_plc"
  assert rl.fresh_batch_size(32, cfg) == 24
  del cfg["replay_mix"]
  rl.validate(cfg)
  assert rl.fresh_batch_size(32, cfg) == 32
