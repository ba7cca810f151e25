"""Tests of pose normalisation."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from signllm_jax.data import normalize


def _poses(seed=0):
  rng = np.random.default_rng(seed)
  return [(rng.normal(size=(t, 50, 3)) * 3 + 5).astype(np.float32)
          for t in (4, 9, 1)]


def test_compute_stats_matches_numpy():
  poses = _poses()
  stats = normalize.compute_stats(poses)
  flat = np.concatenate(poses).astype(np.float64)
  mean = flat.mean(0)
  np.testing.assert_allclose(stats.mean_Jx3, mean, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(stats.std, np.sqrt(((flat - mean) ** 2).mean()),
                             rtol=1e-5)


def test_compute_stats_ignores_nan():
  poses = _poses()
  with_nan = [p.copy() for p in poses]
  with_nan[0][2, 7] = np.nan
  stats = normalize.compute_stats(with_nan)
  expected = np.nanmean(np.concatenate(with_nan).astype(np.float64), axis=0)
  np.testing.assert_allclose(stats.mean_Jx3, expected, rtol=1e-5, atol=1e-5)
  assert np.isfinite(stats.std)


def test_to_frames_layout_counter_and_nan():
  stats = normalize.PoseStats(np.full((50, 3), 1.0, np.float32), 2.0)
  pose = np.full((4, 50, 3), 5.0, np.float32)
  pose[1, 3, 2] = np.nan
  frames = normalize.to_frames(pose, stats)
  assert frames.shape == (4, 151) and frames.dtype == np.float32
  np.testing.assert_allclose(frames[:, 150], [0.25, 0.5, 0.75, 1.0])
  assert frames[1, 3 * 3 + 2] == 0.0  # missing joint -> mean -> 0
  assert frames[0, 0] == 2.0
  assert not np.isnan(frames).any()


@pytest.mark.parametrize("use_jax", [False, True])
def test_from_frames_inverts_to_frames(use_jax):
  poses = _poses(1)
  stats = normalize.compute_stats(poses)
  pose = jnp.asarray(poses[1]) if use_jax else poses[1]
  frames = normalize.to_frames(pose, stats)
  assert isinstance(frames, type(pose))
  back = normalize.from_frames(frames, stats)
  np.testing.assert_allclose(np.asarray(back), poses[1], rtol=0, atol=1e-5)
  # Batched frames invert too.
  batched = normalize.from_frames(np.stack([np.asarray(frames)] * 2), stats)
  np.testing.assert_allclose(batched[1], poses[1], atol=1e-5)


def test_stats_json_round_trip_and_validation():
  stats = normalize.compute_stats(_poses())
  again = normalize.PoseStats.from_dict(json.loads(json.dumps(
      stats.to_dict())))
  np.testing.assert_array_equal(again.mean_Jx3, stats.mean_Jx3)
  assert again.std == stats.std
  with pytest.raises(ValueError, match="std"):
    normalize.PoseStats(np.zeros((50, 3)), 0.0)
  with pytest.raises(ValueError, match="50, 3"):
    normalize.PoseStats(np.zeros((49, 3)), 1.0)
  with pytest.raises(ValueError, match="T, 50, 3"):
    normalize.to_frames(np.zeros((3, 49, 3), np.float32), stats)
  with pytest.raises(ValueError, match="no frames"):
    normalize.to_frames(np.zeros((0, 50, 3), np.float32), stats)
  with pytest.raises(ValueError, match="no valid"):
    normalize.compute_stats([np.full((2, 50, 3), np.nan, np.float32)])
