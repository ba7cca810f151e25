"""Tests of the SynthSign sign recogniser (gloss accuracy)."""

import numpy as np
import pytest

from signllm_jax import languages
from signllm_jax.data.synth import corpus
from signllm_jax.data.synth import recognizer


@pytest.fixture(scope="module")
def examples():
  return list(corpus.generate_split("tiny", "test"))


def _resample(pose, factor):
  t = len(pose)
  idx = np.linspace(0, t - 1, max(2, int(round(t * factor))))
  i0 = np.minimum(idx.astype(int), t - 2)
  w = (idx - i0)[:, None, None]
  return (pose[i0] * (1 - w) + pose[i0 + 1] * w).astype(np.float32)


def test_ground_truth_scores_near_one_for_every_signer(examples):
  acc = np.array([recognizer.example_accuracy(e) for e in examples])
  assert acc.mean() >= 0.98
  for lang in languages.LANG_CODES:
    signers = {int(e["signer"]) for e in examples if e["lang"] == lang}
    assert len(signers) >= 3, lang  # several signers are covered
    lang_acc = acc[[e["lang"] == lang for e in examples]]
    assert lang_acc.mean() >= 0.95, lang


def test_other_lengths_are_scaled(examples):
  for e in examples[:40]:
    for factor in (0.75, 1.3):
      produced = _resample(e["pose"], factor)
      assert recognizer.example_accuracy(e, produced) >= 0.5


def test_still_and_mean_poses_score_near_chance(examples):
  mean = np.mean(np.concatenate([e["pose"] for e in examples]), axis=0)
  still = np.broadcast_to(mean, (60, 50, 3))
  acc = [recognizer.example_accuracy(e, still) for e in examples]
  assert np.mean(acc) < 0.1
  first = [recognizer.example_accuracy(e, np.repeat(e["pose"][:1], 50, 0))
           for e in examples]
  assert np.mean(first) < 0.1


def test_wrong_content_scores_low(examples):
  shifted = [recognizer.example_accuracy(e, examples[(i + 8) % len(examples)][
      "pose"]) for i, e in enumerate(examples)]
  assert np.mean(shifted) < 0.15


def test_batch_helper_and_errors(examples):
  batch = examples[:5]
  acc = recognizer.batch_gloss_accuracy(
      [e["pose"] for e in batch], [e["lang"] for e in batch],
      [e["sign_ids"] for e in batch], [e["spans"] for e in batch],
      [len(e["pose"]) for e in batch])
  assert acc.shape == (5,) and np.all(acc == 1.0)
  e = examples[0]
  with pytest.raises(ValueError, match="sign ids but"):
    recognizer.gloss_accuracy(e["pose"], e["lang"], e["sign_ids"][:0],
                              e["spans"], len(e["pose"]))
  with pytest.raises(ValueError, match=r"\[T, 50, 3\]"):
    recognizer.gloss_accuracy(e["pose"][:, :8], e["lang"], e["sign_ids"],
                              e["spans"], len(e["pose"]))
  assert recognizer.gloss_accuracy(e["pose"][:0], e["lang"], e["sign_ids"],
                                   e["spans"], len(e["pose"])) == 0.0


def test_scale_spans_keeps_segments_non_empty():
  spans = np.array([[0, 10], [10, 11], [11, 30]])
  scaled = recognizer.scale_spans(spans, 30, 9)
  assert np.all(scaled[:, 1] > scaled[:, 0])
  assert scaled.min() >= 0 and scaled.max() <= 9
