"""Tests for signllm_jax.evaluate.run (smoke workdir, tiny SynthSign)."""

import json

import numpy as np
import pytest

from signllm_jax import languages
from signllm_jax.evaluate import report as report_lib
from signllm_jax.evaluate import run
from signllm_jax.evaluate import train_backtranslator
from tests import trained

SMOKE_BT = "experiments/backtranslation.py:smoke"
PER_LANG = 2


@pytest.fixture(scope="session")
def mlsf_workdir(tmp_path_factory):
  return trained.trained_workdir(tmp_path_factory, "experiments/mlsf.py:smoke")


@pytest.fixture(scope="module")
def result(mlsf_workdir):
  return run.evaluate_workdir(mlsf_workdir, split="test",
                              max_examples=PER_LANG, backtranslation=SMOKE_BT,
                              progress=False)


def test_table_has_model_and_baseline_rows_per_language(result):
  assert list(result["languages"]) == list(languages.LANG_CODES)
  for lang, rows in result["languages"].items():
    names = list(rows)
    assert names[0].startswith("SignLLM-MLSF (smoke, step 6)")
    assert names[1] == names[0] + ", oracle length"
    assert names[2:] == list(report_lib.BASELINE_ROWS), lang
    for name, m in rows.items():
      assert m["examples"] == PER_LANG
      for key in ("bleu1", "bleu4", "rouge", "dtw", "dtw_mje",
                  "gloss_accuracy"):
        assert isinstance(m[key], float), (lang, name, key)
      assert m["dtw"] >= 0 and m["dtw_mje"] >= 0


def test_ground_truth_row_is_the_ceiling(result):
  for rows in result["languages"].values():
    gt = rows[report_lib.GROUND_TRUTH]
    assert gt["dtw"] == pytest.approx(0.0, abs=1e-6)
    assert gt["dtw_mje"] == pytest.approx(0.0, abs=1e-6)
    assert gt["hand_motion_ratio"] == pytest.approx(1.0)
    assert gt["gloss_accuracy"] == pytest.approx(100.0)
    # A still pose has no hand motion at all.
    assert rows[report_lib.MEAN_POSE]["hand_motion_ratio"] == 0.0


def test_files_written(result, mlsf_workdir):
  saved = json.loads((mlsf_workdir / "eval_test.json").read_text())
  assert saved["languages"]["ASL"] == result["languages"]["ASL"]
  assert saved["settings"]["examples"] == {l: PER_LANG
                                           for l in languages.LANG_CODES}
  assert "oracle length" in saved["note"]
  md = (mlsf_workdir / "eval_test.md").read_text()
  assert md == result["markdown"]
  assert "### KSL" in md and "| ground truth | " in md
  gifs = sorted(p.name for p in (mlsf_workdir / "samples").glob("*.gif"))
  assert len(gifs) == 8 and gifs[0].startswith("test_")
  assert result["samples"] and all(p.exists() for p in result["samples"])


def test_backtranslator_is_cached(result, tmp_path_factory):
  where = result["settings"]["backtranslator"]
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  assert where.startswith(str(data_dir / "backtranslator"))
  assert train_backtranslator.is_saved(where)
  model, meta = train_backtranslator.load_backtranslator(where)
  assert meta["steps"] == 8 and model.max_text_len == 24


def test_dtw_scores_match_report_pose_metrics():
  rng = np.random.default_rng(0)
  hyps = [rng.normal(size=(t, 50, 3)).astype(np.float32) for t in (5, 9, 7)]
  refs = [rng.normal(size=(t, 50, 3)).astype(np.float32) for t in (6, 4, 8)]
  pt, mje = run.dtw_scores(hyps, refs)
  expected = report_lib.pose_metrics(hyps, refs)
  assert np.mean(pt) == pytest.approx(expected["dtw"], rel=1e-5)
  assert np.mean(mje) == pytest.approx(expected["dtw_mje"], rel=1e-5)
  same, _ = run.dtw_scores(refs, refs)
  np.testing.assert_allclose(same, 0.0, atol=1e-6)


def test_missing_workdir_is_an_evaluate_error(tmp_path):
  with pytest.raises(run.EvaluateError, match="no such workdir"):
    run.evaluate_workdir(tmp_path / "nope", split="test", max_examples=1)


def test_bad_backtranslator_folder(mlsf_workdir, tmp_path):
  with pytest.raises(run.EvaluateError, match="not a back-translator"):
    run._load_backtranslator(None, mlsf_workdir, str(tmp_path),
                             progress=False)
