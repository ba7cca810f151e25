"""FSQ: the grid, the index bijection and the straight-through gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from signllm_jax.model import fsq

LEVELS = (8, 5, 5, 5)


def test_codes_indices_bijection_over_the_whole_codebook():
  n = fsq.codebook_size(LEVELS)
  assert n == 1000
  idx = jnp.arange(n)
  codes = fsq.indices_to_codes(idx, LEVELS)
  assert codes.shape == (n, 4)
  np.testing.assert_array_equal(fsq.codes_to_indices(codes, LEVELS), idx)
  # All codes distinct and on the grid.
  assert len({tuple(c) for c in np.asarray(codes).round(6)}) == n


def test_quantized_values_lie_on_the_grid():
  z = jax.random.normal(jax.random.key(0), (4096, 4)) * 3
  q = np.asarray(fsq.quantize(z, LEVELS))
  for i, l in enumerate(LEVELS):
    half = l // 2
    grid = (np.arange(l) - half) / half  # even l: -1 .. 1 - 1/half
    assert set(np.unique(q[:, i]).round(6)) <= set(grid.round(6)), i
    # Every level is reachable.
    assert len(np.unique(q[:, i])) == l, i
  np.testing.assert_array_equal(
      fsq.indices_to_codes(fsq.codes_to_indices(q, LEVELS), LEVELS), q)


def test_straight_through_gradient_is_identity_through_rounding():
  x = jnp.linspace(-3, 3, 13)
  g = jax.grad(lambda x: fsq.round_ste(x).sum())(x)
  np.testing.assert_array_equal(g, np.ones(13))
  # Through quantize: the gradient is the bound's (tanh), never zero.
  z = jnp.array([[0.1, -0.2, 0.3, 0.0]])
  gz = jax.grad(lambda z: fsq.quantize(z, LEVELS).sum())(z)
  assert (np.asarray(gz) > 0).all()


def test_bad_levels_and_widths_are_refused():
  with pytest.raises(ValueError, match="levels"):
    fsq.codebook_size([1, 5])
  with pytest.raises(ValueError, match="last axis"):
    fsq.quantize(jnp.zeros((2, 3)), LEVELS)


def test_usage_counts_codes_and_perplexity():
  u = fsq.usage(np.array([0, 0, 1, 1]), (2, 2))
  assert u["codes_used"] == 0.5 and u["perplexity"] == pytest.approx(2.0)
  u = fsq.usage(np.arange(4), (2, 2), mask=np.array([1, 1, 1, 0]))
  assert u["perplexity"] == pytest.approx(3.0)
