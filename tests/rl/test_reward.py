"""Tests for signllm_jax.rl.reward: r = -MSE and the skip rule."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from signllm_jax.rl import reward


def test_reward_is_negative_mse_without_gradient():
  mse_B = jnp.array([0.5, 2.0, 0.0])
  np.testing.assert_array_equal(reward.reward_from_mse(mse_B),
                                [-0.5, -2.0, 0.0])
  grad = jax.grad(lambda m: jnp.sum(reward.reward_from_mse(m)))(mse_B)
  np.testing.assert_array_equal(grad, np.zeros(3))


def _keep(rewards, mask=None, **kw):
  r_B = jnp.asarray(rewards, jnp.float32)
  m_B = jnp.ones(r_B.shape, bool) if mask is None else jnp.asarray(mask)
  return reward.keep_mask(r_B, m_B, **kw)


def test_batch_quantile_median_even_batch():
  # Median of {-1,-2,-3,-4} is -2.5: the two best rewards are kept.
  keep, _, level = _keep([-1., -4., -2., -3.], rule="batch_quantile",
                         threshold=0.5)
  np.testing.assert_array_equal(keep, [True, False, True, False])
  assert float(level) == pytest.approx(-2.5)


def test_batch_quantile_odd_batch_keeps_the_median():
  keep, _, level = _keep([-3., -1., -2.], rule="batch_quantile",
                         threshold=0.5)
  np.testing.assert_array_equal(keep, [False, True, True])
  assert float(level) == pytest.approx(-2.0)


def test_batch_quantile_ignores_masked_rows():
  # Without the mask the padded -100 would pull the median down to -2.5.
  keep, _, level = _keep([-1., -2., -3., -100.],
                         mask=[True, True, True, False],
                         rule="batch_quantile", threshold=0.5)
  np.testing.assert_array_equal(keep, [True, True, False, False])
  assert float(level) == pytest.approx(-2.0)


def test_batch_quantile_other_level_and_ties():
  # q = 0.25 of {-1..-5} is -4; equal rewards are all kept.
  keep, _, _ = _keep([-1., -2., -3., -4., -5.], rule="batch_quantile",
                     threshold=0.25)
  np.testing.assert_array_equal(keep, [True, True, True, True, False])
  keep, _, _ = _keep([-2., -2., -2.], rule="batch_quantile", threshold=0.5)
  assert bool(jnp.all(keep))


def test_normalised_uses_running_range_updated_first():
  rng = reward.RewardRange(jnp.float32(-10.), jnp.float32(-2.))
  # The batch widens the max to -0: normalised = (r + 10) / 10.
  keep, new_rng, level = _keep([0., -4., -6., -5.], rule="normalised",
                               threshold=0.5, reward_range=rng)
  np.testing.assert_array_equal(keep, [True, True, False, True])
  assert float(new_rng.reward_min) == -10. and float(new_rng.reward_max) == 0.
  assert float(level) == 0.5
  np.testing.assert_allclose(
      reward.normalise(jnp.array([0., -4., -6.]), new_rng), [1., .6, .4])


def test_normalised_degenerate_range_keeps_everything():
  keep, rng, _ = _keep([-3.], rule="normalised", threshold=0.5,
                       reward_range=reward.init_reward_range())
  assert bool(keep[0])
  assert float(rng.reward_min) == float(rng.reward_max) == -3.


def test_normalised_masked_rows_do_not_move_the_range():
  _, rng, _ = _keep([-1., -50.], mask=[True, False], rule="normalised",
                    threshold=0.5, reward_range=reward.init_reward_range())
  assert float(rng.reward_min) == -1.


def test_normalised_batch_unit_drops_whole_batch():
  rng = reward.RewardRange(jnp.float32(-10.), jnp.float32(0.))
  # Normalised {0.9, 0.1, 0.2}: mean 0.4 < 0.5, the whole batch goes.
  keep, _, _ = _keep([-1., -9., -8.], rule="normalised", threshold=0.5,
                     unit="batch", reward_range=rng)
  assert not bool(jnp.any(keep))
  keep, _, _ = _keep([-1., -2., -8.], rule="normalised", threshold=0.5,
                     unit="batch", reward_range=rng)
  assert bool(jnp.all(keep))


def test_none_keeps_all_valid():
  keep, _, _ = _keep([-1., -99.], mask=[True, False], rule="none",
                     threshold=0.5)
  np.testing.assert_array_equal(keep, [True, False])


@pytest.mark.parametrize("kw", [
    dict(rule="median", threshold=0.5),
    dict(rule="batch_quantile", threshold=0.5, unit="batch"),
    dict(rule="normalised", threshold=0.5),  # no running range given
    dict(rule="none", threshold=0.5, unit="epoch"),
])
def test_bad_rule_settings_raise(kw):
  with pytest.raises(ValueError):
    _keep([-1., -2.], **kw)
