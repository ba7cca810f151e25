"""Trivial pose producers every model must be reported beside (pure numpy).

- `MeanPoseBaseline`: the mean training frame (per joint coordinate, NaN
  ignored), repeated. Timing: `predict(n_frames)` repeats it for the length
  asked; the evaluation passes the reference length (oracle timing, the same
  as PT's published DTW), and `predict()` without a length uses the rounded
  mean training length (for a fair comparison with a model that predicts its
  own length). DTW rewards such still, averaged poses: see motion.py.
- `NearestNeighbourBaseline`: the training pose of the training text most
  similar to the query: TF-IDF over word unigrams + bigrams (Unicode words,
  lower-cased, smoothed idf, L2-normalised rows), cosine similarity; ties go
  to the lowest training index, so a query sharing no word with any training
  text returns training example 0. It keeps its own timing (the neighbour's
  length).
- `GroundTruthBaseline`: the reference itself (the metric's ceiling).
"""

import collections
import re
import unicodedata
from typing import Sequence

import numpy as np

from signllm_jax import skeleton

_WORD = re.compile(r"\w+", re.UNICODE)


def _check_pose(pose, where: str) -> np.ndarray:
  return skeleton.check_pose(pose, where)


class MeanPoseBaseline:
  """The mean training frame, repeated."""

  def __init__(self):
    self.mean_frame_Jx3: np.ndarray | None = None
    self.mean_length: int | None = None

  def fit(self, train_poses: Sequence[np.ndarray]) -> "MeanPoseBaseline":
    if not train_poses:
      raise ValueError("MeanPoseBaseline.fit: no training poses")
    total = np.zeros((skeleton.NUM_JOINTS, 3), np.float64)
    count = np.zeros((skeleton.NUM_JOINTS, 3), np.int64)
    for i, pose in enumerate(train_poses):
      pose = _check_pose(pose, f"training pose {i}")
      finite = np.isfinite(pose)
      total += np.where(finite, pose, 0.0).sum(0)
      count += finite.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
      # A joint never observed stays NaN (missing), not 0.
      self.mean_frame_Jx3 = np.where(count > 0, total / count,
                                     np.nan).astype(np.float32)
    self.mean_length = max(1, int(round(np.mean([len(p)
                                                  for p in train_poses]))))
    return self

  def predict(self, n_frames: int | None = None) -> np.ndarray:
    """[n_frames, J, 3]; the mean training length when n_frames is None."""
    if self.mean_frame_Jx3 is None:
      raise ValueError("MeanPoseBaseline.predict called before fit")
    n = self.mean_length if n_frames is None else int(n_frames)
    if n < 1:
      raise ValueError(f"MeanPoseBaseline.predict: n_frames={n} < 1")
    return np.repeat(self.mean_frame_Jx3[None], n, axis=0)


def _ngrams(text: str) -> list[str]:
  words = _WORD.findall(unicodedata.normalize("NFC", text).lower())
  return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


class NearestNeighbourBaseline:
  """Retrieval: the pose of the most similar training text (TF-IDF cosine)."""

  def __init__(self):
    self.vocab: dict[str, int] = {}
    self.idf_V: np.ndarray | None = None
    self.matrix_NxV: np.ndarray | None = None
    self.train_poses: list[np.ndarray] = []
    self.train_texts: list[str] = []

  def fit(self, train_texts: Sequence[str],
          train_poses: Sequence[np.ndarray]) -> "NearestNeighbourBaseline":
    if len(train_texts) != len(train_poses):
      raise ValueError(f"NearestNeighbourBaseline.fit: {len(train_texts)} "
                       f"texts but {len(train_poses)} poses")
    if not train_texts:
      raise ValueError("NearestNeighbourBaseline.fit: no training examples")
    self.train_poses = [_check_pose(p, f"training pose {i}")
                        for i, p in enumerate(train_poses)]
    self.train_texts = list(train_texts)
    grams = [_ngrams(t) for t in self.train_texts]
    self.vocab = {}
    for g in grams:
      for term in g:
        self.vocab.setdefault(term, len(self.vocab))
    n = len(grams)
    df_V = np.zeros(len(self.vocab), np.float64)
    for g in grams:
      for term in set(g):
        df_V[self.vocab[term]] += 1
    self.idf_V = np.log((1.0 + n) / (1.0 + df_V)) + 1.0
    self.matrix_NxV = np.stack([self._vector(g) for g in grams])
    return self

  def _vector(self, grams: list[str]) -> np.ndarray:
    vec_V = np.zeros(len(self.vocab), np.float64)
    for term, c in collections.Counter(grams).items():
      if term in self.vocab:
        vec_V[self.vocab[term]] = c
    vec_V *= self.idf_V
    norm = np.linalg.norm(vec_V)
    return vec_V / norm if norm > 0 else vec_V

  def predict_index(self, text: str) -> int:
    """Index of the nearest training example (lowest index on ties)."""
    if self.matrix_NxV is None:
      raise ValueError("NearestNeighbourBaseline.predict called before fit")
    sims_N = self.matrix_NxV @ self._vector(_ngrams(text))
    # Rounding makes ties robust to float noise; argmax takes the first.
    return int(np.argmax(np.round(sims_N, 12)))

  def predict(self, text: str) -> np.ndarray:
    """[T, J, 3] pose of the nearest training text (a copy)."""
    return self.train_poses[self.predict_index(text)].copy()


class GroundTruthBaseline:
  """The ground truth itself: the ceiling of every metric."""

  def predict(self, reference_pose: np.ndarray) -> np.ndarray:
    return _check_pose(reference_pose, "reference pose").copy()
