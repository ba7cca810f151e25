"""Tests for signllm_jax.baselines.mean_pose."""

import numpy as np
import pytest

from signllm_jax.baselines import mean_pose


def _pose(t, value):
  return np.full((t, 50, 3), value, np.float32)


def test_mean_pose_mean_and_timing():
  a, b = _pose(2, 1.0), _pose(4, 4.0)
  b[:, 3] = np.nan  # joint 3 missing in b: its mean comes from a only
  model = mean_pose.MeanPoseBaseline().fit([a, b])
  out = model.predict(5)
  assert out.shape == (5, 50, 3)
  np.testing.assert_allclose(out[0, 0], 3.0)  # (2*1 + 4*4) / 6
  np.testing.assert_allclose(out[0, 3], 1.0)
  assert model.predict().shape[0] == 3  # rounded mean length
  np.testing.assert_array_equal(out[0], out[-1])


def test_mean_pose_unseen_joint_stays_nan():
  a = _pose(3, 1.0)
  a[:, 7] = np.nan
  out = mean_pose.MeanPoseBaseline().fit([a]).predict(2)
  assert np.isnan(out[:, 7]).all() and np.isfinite(out[:, :7]).all()


def test_mean_pose_errors():
  with pytest.raises(ValueError, match="before fit"):
    mean_pose.MeanPoseBaseline().predict(3)
  with pytest.raises(ValueError, match=r"training pose 1: pose must be"):
    mean_pose.MeanPoseBaseline().fit([_pose(2, 0), np.zeros((2, 49, 3))])


def test_ground_truth_is_identity():
  ref = np.random.default_rng(0).normal(size=(4, 50, 3)).astype(np.float32)
  np.testing.assert_array_equal(mean_pose.GroundTruthBaseline().predict(ref),
                                ref)


def test_evaluate_baselines_reexports_the_moved_classes():
  from signllm_jax.baselines import retrieval
  from signllm_jax.evaluate import baselines as old
  assert old.MeanPoseBaseline is mean_pose.MeanPoseBaseline
  assert old.GroundTruthBaseline is mean_pose.GroundTruthBaseline
  assert old.NearestNeighbourBaseline is retrieval.NearestNeighbourBaseline
