"""Retrieval baseline: the pose of the most similar training text (numpy).

`NearestNeighbourBaseline`: TF-IDF over word unigrams + bigrams (Unicode
words, NFC, lower-cased, smoothed idf, L2-normalised rows), cosine
similarity; ties go to the lowest training index, so a query sharing no
word with any training text returns training example 0. It keeps its own
timing (the neighbour's length).
"""

import collections
import re
import unicodedata
from typing import Sequence

import numpy as np

from signllm_jax import skeleton

WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
  """NFC-normalised, lower-cased Unicode words of a text."""
  return WORD.findall(unicodedata.normalize("NFC", text).lower())


def _ngrams(text: str) -> list[str]:
  w = words(text)
  return w + [f"{a} {b}" for a, b in zip(w, w[1:])]


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
    self.train_poses = [skeleton.check_pose(p, f"training pose {i}")
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
