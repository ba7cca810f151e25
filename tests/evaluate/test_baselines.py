"""Tests for signllm_jax.evaluate.baselines."""

import numpy as np
import pytest

from signllm_jax.evaluate import baselines


def _pose(t, value):
  return np.full((t, 50, 3), value, np.float32)


def test_mean_pose_mean_and_timing():
  a, b = _pose(2, 1.0), _pose(4, 4.0)
  b[:, 3] = np.nan  # joint 3 missing in b: its mean comes from a only
  model = baselines.MeanPoseBaseline().fit([a, b])
  out = model.predict(5)
  assert out.shape == (5, 50, 3)
  np.testing.assert_allclose(out[0, 0], 3.0)  # (2*1 + 4*4) / 6
  np.testing.assert_allclose(out[0, 3], 1.0)
  assert model.predict().shape[0] == 3  # rounded mean length
  np.testing.assert_array_equal(out[0], out[-1])


def test_mean_pose_unseen_joint_stays_nan():
  a = _pose(3, 1.0)
  a[:, 7] = np.nan
  out = baselines.MeanPoseBaseline().fit([a]).predict(2)
  assert np.isnan(out[:, 7]).all() and np.isfinite(out[:, :7]).all()


def test_mean_pose_errors():
  with pytest.raises(ValueError, match="before fit"):
    baselines.MeanPoseBaseline().predict(3)
  with pytest.raises(ValueError, match=r"training pose 1: pose must be"):
    baselines.MeanPoseBaseline().fit([_pose(2, 0), np.zeros((2, 49, 3))])


def test_nearest_neighbour_retrieval():
  texts = ["the weather is sunny today", "heavy rain in the north",
           "snow in the mountains tonight"]
  poses = [_pose(3, 0.0), _pose(4, 1.0), _pose(5, 2.0)]
  model = baselines.NearestNeighbourBaseline().fit(texts, poses)
  assert model.predict_index("rain in the north tomorrow") == 1
  assert model.predict_index("Snow tonight") == 2
  out = model.predict("sunny weather")
  assert out.shape == (3, 50, 3) and (out == 0).all()
  out[:] = 9  # a copy: the stored training pose is untouched
  assert (model.predict("sunny weather") == 0).all()


def test_nearest_neighbour_ties_are_deterministic():
  texts = ["a b", "a b", "c d"]
  poses = [_pose(1, 0.0), _pose(2, 1.0), _pose(3, 2.0)]
  model = baselines.NearestNeighbourBaseline().fit(texts, poses)
  assert model.predict_index("a b") == 0  # exact tie: lowest index
  assert model.predict_index("zzz unknown") == 0  # no shared term


def test_bigrams_break_unigram_ties():
  texts = ["dog bites man", "man bites dog"]
  model = baselines.NearestNeighbourBaseline().fit(
      texts, [_pose(1, 0.0), _pose(1, 1.0)])
  assert model.predict_index("man bites dog") == 1


def test_nearest_neighbour_unicode():
  model = baselines.NearestNeighbourBaseline().fit(
      ["größe", "grüße", "안녕하세요"], [_pose(1, i) for i in range(3)])
  assert model.predict_index("Grüße") == 1
  assert model.predict_index("안녕하세요") == 2


def test_ground_truth_is_identity():
  ref = np.random.default_rng(0).normal(size=(4, 50, 3)).astype(np.float32)
  np.testing.assert_array_equal(baselines.GroundTruthBaseline().predict(ref),
                                ref)
