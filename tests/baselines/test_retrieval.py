"""Tests for signllm_jax.baselines.retrieval."""

import numpy as np

from signllm_jax.baselines import retrieval


def _pose(t, value):
  return np.full((t, 50, 3), value, np.float32)


def test_nearest_neighbour_retrieval():
  texts = ["the weather is sunny today", "heavy rain in the north",
           "snow in the mountains tonight"]
  poses = [_pose(3, 0.0), _pose(4, 1.0), _pose(5, 2.0)]
  model = retrieval.NearestNeighbourBaseline().fit(texts, poses)
  assert model.predict_index("rain in the north tomorrow") == 1
  assert model.predict_index("Snow tonight") == 2
  out = model.predict("sunny weather")
  assert out.shape == (3, 50, 3) and (out == 0).all()
  out[:] = 9  # a copy: the stored training pose is untouched
  assert (model.predict("sunny weather") == 0).all()


def test_nearest_neighbour_ties_are_deterministic():
  texts = ["a b", "a b", "c d"]
  poses = [_pose(1, 0.0), _pose(2, 1.0), _pose(3, 2.0)]
  model = retrieval.NearestNeighbourBaseline().fit(texts, poses)
  assert model.predict_index("a b") == 0  # exact tie: lowest index
  assert model.predict_index("zzz unknown") == 0  # no shared term


def test_bigrams_break_unigram_ties():
  texts = ["dog bites man", "man bites dog"]
  model = retrieval.NearestNeighbourBaseline().fit(
      texts, [_pose(1, 0.0), _pose(1, 1.0)])
  assert model.predict_index("man bites dog") == 1


def test_nearest_neighbour_unicode():
  model = retrieval.NearestNeighbourBaseline().fit(
      ["größe", "grüße", "안녕하세요"], [_pose(1, i) for i in range(3)])
  assert model.predict_index("Grüße") == 1
  assert model.predict_index("안녕하세요") == 2
