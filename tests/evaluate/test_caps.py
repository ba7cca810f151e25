"""The per-language cap of the evaluation loops."""

import numpy as np

from signllm_jax.evaluate import caps


def test_cap_counts_real_rows_per_language():
  cap = caps.PerLanguageCap(3)
  assert cap.take(np.array([0, 0]), np.array([True, False])) == [0]
  assert cap.take(np.array([0, 0, 0]), np.array([True, True, True])) == [0, 1]
  assert cap.full(0) and not cap.full(1)
  assert cap.take(np.array([0]), np.array([True])) == []
  assert cap.take(np.array([1, 1]), np.array([True, True])) == [0, 1]


def test_no_cap_keeps_everything():
  for limit in (None, 0, -1):
    cap = caps.PerLanguageCap(limit)
    assert cap.take(np.zeros(5, int), np.ones(5, bool)) == [0, 1, 2, 3, 4]
    assert not cap.full(0)
