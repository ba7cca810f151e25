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
