"""Tests for signllm_jax.evaluate.motion."""

import numpy as np
import pytest

from signllm_jax.evaluate import motion


def _moving(t, speed):
  pose = np.zeros((t, 50, 3), np.float32)
  pose[:, 8:, 0] = np.arange(t)[:, None] * speed  # hands move along x
  pose[:, :8, 1] = np.arange(t)[:, None] * 100.0  # body motion is ignored
  return pose


def test_hand_motion_value():
  assert motion.hand_motion(_moving(5, 0.5)) == pytest.approx(0.5)
  assert motion.hand_motion(np.zeros((5, 50, 3))) == 0.0
  assert np.isnan(motion.hand_motion(np.zeros((1, 50, 3))))


def test_hand_motion_ignores_nan_and_padding():
  pose = _moving(6, 1.0)
  pose[2, 8] = np.nan
  assert motion.hand_motion(pose) == pytest.approx(1.0)
  padded = np.concatenate([_moving(4, 2.0), np.full((3, 50, 3), 50.0)])
  np.testing.assert_allclose(motion.hand_motion_batch(padded[None], [4]),
                             [2.0])


def test_ratio():
  refs = [_moving(5, 1.0), _moving(7, 3.0)]  # mean motion 2
  produced = [_moving(5, 0.5), _moving(4, 0.5)]  # mean motion 0.5
  assert motion.hand_motion_ratio(produced, refs) == pytest.approx(0.25)
  still = [np.zeros((5, 50, 3)), np.zeros((3, 50, 3))]
  assert motion.hand_motion_ratio(still, refs) == 0.0
  with pytest.raises(ValueError, match="zero hand motion"):
    motion.hand_motion_ratio(refs, still)


def test_hand_travel_value():
  # 4 steps of 0.5 for each of the 42 hand joints; body motion ignored.
  assert motion.hand_travel(_moving(5, 0.5)) == pytest.approx(42 * 4 * 0.5)
  assert motion.hand_travel(np.zeros((5, 50, 3))) == 0.0
  assert motion.hand_travel(np.zeros((1, 50, 3))) == 0.0
  pose = _moving(5, 1.0)
  pose[2, 8] = np.nan  # two steps of joint 8 are unknown: left out
  assert motion.hand_travel(pose) == pytest.approx(42 * 4 - 2)
  with pytest.raises(ValueError, match="pose must be"):
    motion.hand_travel(np.zeros((5, 49, 3)))


def test_hand_travel_ratio_still_truth_and_twice_as_far():
  rng = np.random.default_rng(0)
  refs = [rng.normal(size=(t, 50, 3)).astype(np.float32) for t in (6, 9)]
  still = [np.repeat(r[:1], len(r), 0) for r in refs]
  farther = [r[:1] + 2 * (r - r[:1]) for r in refs]  # every step doubled
  assert motion.hand_travel_ratio(still, refs) == 0.0
  assert motion.hand_travel_ratio(refs, refs) == pytest.approx(1.0)
  assert motion.hand_travel_ratio(farther, refs) == pytest.approx(2.0)
  # Corpus totals, not a mean of ratios: a long example weighs more.
  slow = [np.repeat(r, 2, axis=0) for r in refs]  # same path, twice as long
  assert motion.hand_travel_ratio(slow, refs) == pytest.approx(1.0)
  assert motion.hand_motion_ratio(slow, refs) < 0.6  # but half the speed
  with pytest.raises(ValueError, match="never move"):
    motion.hand_travel_ratio(refs, still)
  with pytest.raises(ValueError, match="2 produced but 1"):
    motion.hand_travel_ratio(refs, refs[:1])
