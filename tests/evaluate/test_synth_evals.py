"""Tests for signllm_jax.evaluate.synth_evals: the recogniser's two columns."""

import pathlib

import ml_collections
import numpy as np
import pytest

from signllm_jax.data import normalize
from signllm_jax.data.synth import corpus
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import report as report_lib
from signllm_jax.evaluate import synth_evals

WARPED, STILL = "warped", "still"


def _warp(pose, spans):
  """Signs at another rhythm: a long wait at rest, the first sign slowed
  3x, the others sped up 2x (the reference spans no longer line up)."""
  (s0, e0), rest = spans[0], spans[1:]
  parts = [np.repeat(pose[:1], 25, 0), pose[:s0],
           np.repeat(pose[s0:e0], 3, 0)]
  parts += [pose[s:e:2] for s, e in rest]
  parts.append(pose[spans[-1, 1]:])
  return np.concatenate(parts)


@pytest.fixture(scope="module")
def ctx():
  examples = []
  for lang in ("ASL", "GSL"):
    for k in range(12):
      ex = corpus.generate_example(lang, "test", k)
      if len(ex["sign_ids"]) < 2:
        continue
      examples.append(context_lib.Example(
          idx=k, lang=lang, text=ex["text"], ref_TxJx3=ex["pose"],
          pred_TxJx3=ex["pose"], oracle_TxJx3=ex["pose"],
          sign_ids=ex["sign_ids"].astype(np.int64),
          spans=ex["spans"].astype(np.int64), lang_gloss_ref=ex["lang_gloss"]))
  refs = [e.ref_TxJx3 for e in examples]
  systems = {
      WARPED: [_warp(e.ref_TxJx3, e.spans) for e in examples],
      STILL: [np.repeat(r.mean(0, keepdims=True), len(r), 0) for r in refs],
      report_lib.GROUND_TRUTH: refs}
  return context_lib.Context(
      examples=examples, systems=systems, model_name=WARPED,
      stats=normalize.compute_stats(refs), tokenizer=None, mode="mlsf",
      dataset_metadata={"corpus": {"size": "tiny", "seed": 0}},
      evaluate_cfg=ml_collections.ConfigDict({}),
      data_cfg=ml_collections.ConfigDict({}), workdir=pathlib.Path("."),
      split="test", fps=25.0)


@pytest.fixture(scope="module")
def result(ctx):
  return synth_evals.GlossAccuracy()(ctx)


def test_ground_truth_scores_the_same_in_both_columns(result, ctx):
  for lang in ctx.langs:
    gt = result.metrics[lang][report_lib.GROUND_TRUTH]
    assert gt["gloss_accuracy_dtw"] == gt["gloss_accuracy"] == 100.0
  per_example = synth_evals.dtw_gloss_accuracy(
      ctx.systems[report_lib.GROUND_TRUTH], ctx.examples, lexicon=None)
  np.testing.assert_array_equal(per_example, 1.0)


def test_a_time_warped_copy_scores_high_after_alignment(result, ctx):
  scaled, aligned = [], []
  for lang in ctx.langs:
    row = result.metrics[lang][WARPED]
    scaled.append(row["gloss_accuracy"])
    aligned.append(row["gloss_accuracy_dtw"])
  assert min(aligned) >= 90.0
  assert np.mean(aligned) > np.mean(scaled) + 10  # scaling misreads it
  assert "DTW-MJE alignment" in result.note


def test_a_still_pose_scores_low_in_both(result, ctx):
  for lang in ctx.langs:
    row = result.metrics[lang][STILL]
    assert row["gloss_accuracy"] < 50.0 and row["gloss_accuracy_dtw"] < 50.0


def test_examples_without_signs_are_left_out(ctx):
  blank = context_lib.Example(
      idx=99, lang="ASL", text="", ref_TxJx3=ctx.examples[0].ref_TxJx3,
      pred_TxJx3=ctx.examples[0].ref_TxJx3,
      oracle_TxJx3=ctx.examples[0].ref_TxJx3,
      sign_ids=np.zeros(0, np.int64), spans=np.zeros((0, 2), np.int64))
  acc = synth_evals.dtw_gloss_accuracy(
      [ctx.examples[0].ref_TxJx3] * 2, [ctx.examples[0], blank],
      lexicon=None)
  assert acc[0] == 1.0 and np.isnan(acc[1])
