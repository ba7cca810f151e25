"""Tests of `evaluate_workdir` on a smoke-trained workdir (tiny SynthSign)."""

import json

import numpy as np
import pytest

from signllm_jax import languages
from signllm_jax import skeleton
from signllm_jax.evaluate import report as report_lib
from signllm_jax.evaluate import run
from tests import trained

PER_LANG = 2
SYSTEMS = 6  # model, model with oracle length, the four baselines


class RecordingTranslator:
  """Says "hello" to everything and records what it was given."""

  name = "recording fake"

  def __init__(self):
    self.calls = []

  def translate(self, frames_list):
    self.calls.append([np.shape(f) for f in frames_list])
    return ["hello"] * len(frames_list)


def _listing(root):
  return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture(scope="module")
def trained_src(tmp_path_factory):
  return trained.trained_workdir(tmp_path_factory, "experiments/mlsf.py:smoke")


@pytest.fixture(scope="module")
def workdir(trained_src, tmp_path_factory):
  return trained.copy_workdir(trained_src,
                              tmp_path_factory.mktemp("eval") / "w")


@pytest.fixture(scope="module")
def evaluated(workdir, tmp_path_factory):
  """The config's split and per-language cap; no back-translator."""
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  before = {"workdir": _listing(workdir), "data": _listing(data_dir)}
  result = run.evaluate_workdir(
      workdir, overrides=(f"evaluate.max_examples={PER_LANG}",
                          "evaluate.split=test"), progress=False)
  after = {"workdir": _listing(workdir), "data": _listing(data_dir)}
  return result, before, after


def test_config_split_and_cap_take_effect(evaluated):
  result, _, _ = evaluated
  assert result["settings"]["split"] == "test"
  assert result["settings"]["max_examples_per_language"] == PER_LANG
  assert result["settings"]["examples"] == {l: PER_LANG
                                            for l in languages.LANG_CODES}


def test_rows_and_ground_truth_ceiling(evaluated):
  result, _, _ = evaluated
  assert list(result["languages"]) == list(languages.LANG_CODES)
  for lang, rows in result["languages"].items():
    names = list(rows)
    assert names[0] == "SignLLM-MLSF (smoke, step 6)"
    assert names[1] == names[0] + ", oracle length"
    assert names[2:] == list(report_lib.BASELINE_ROWS), lang
    gt, mean = rows[report_lib.GROUND_TRUTH], rows[report_lib.MEAN_POSE]
    assert all(m["examples"] == PER_LANG for m in rows.values())
    assert gt["dtw"] == pytest.approx(0.0, abs=1e-6)
    assert gt["dtw_mje"] == pytest.approx(0.0, abs=1e-6)
    assert gt["hand_motion_ratio"] == pytest.approx(1.0)
    assert gt["gloss_accuracy"] == pytest.approx(100.0)
    assert gt["gloss_accuracy_dtw"] == pytest.approx(100.0)
    assert gt["hand_travel"] == pytest.approx(1.0)
    assert mean["hand_travel"] == 0.0
    # A still pose: no hand motion, worse than the truth on every metric.
    assert mean["hand_motion_ratio"] == 0.0
    assert mean["dtw"] > 1.0 and mean["dtw_mje"] > 0.05
    assert mean["gloss_accuracy"] < 100.0
    assert "bleu4" not in gt and "rouge" not in gt


def test_evaluate_never_trains_and_says_how(evaluated, tmp_path_factory):
  result, before, after = evaluated
  assert result["settings"]["backtranslator"] == "none (skipped)"
  assert "backtranslation" in result["settings"]["skipped"]
  note = result["note"]
  assert "No back-translation (BLEU/ROUGE skipped)" in note
  assert "signllm train --config experiments/backtranslation.py:cpu" in note
  assert "--config.evaluate.backtranslation_workdir=W" in note
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  assert f"--config.data.data_dir={data_dir}" in note
  assert after["data"] == before["data"]
  added = set(after["workdir"]) - set(before["workdir"])
  assert {p.split("/")[0] for p in added} == {"eval_test.json",
                                             "eval_test.md", "samples"}


def test_files_written(evaluated, workdir):
  result, _, _ = evaluated
  saved = json.loads((workdir / "eval_test.json").read_text())
  assert saved["languages"] == json.loads(json.dumps(result["languages"]))
  assert "oracle length" in saved["note"]
  assert saved["settings"]["evals"] == [
      "pose_distance", "hand_motion", "backtranslation", "gloss_accuracy",
      "langgloss", "render"]
  md = (workdir / "eval_test.md").read_text()
  assert md == result["markdown"]
  assert "### KSL" in md and "| ground truth | " in md
  gifs = sorted(p.name for p in (workdir / "samples").glob("*.gif"))
  assert len(gifs) == len(languages.LANG_CODES)  # evaluate.render_samples=1
  assert sorted(p.name for p in result["samples"]) == gifs


def test_injected_translator_scores_every_system(workdir):
  fake = RecordingTranslator()
  result = run.evaluate_workdir(
      workdir, split="test", max_examples=1, translator=fake,
      overrides=("evaluate.render_samples=0",), progress=False)
  n = len(languages.LANG_CODES)
  assert len(fake.calls) == 1 and len(fake.calls[0]) == SYSTEMS * n
  assert all(s[1] == skeleton.FRAME_DIM for s in fake.calls[0])
  assert result["settings"]["backtranslator"] == fake.name
  assert "Back-translation: recording fake" in result["note"]
  for rows in result["languages"].values():
    for m in rows.values():
      assert m["bleu1"] == 0.0  # "hello" is in no reference
      assert m["samples"][0]["backtranslation"] == "hello"


def test_config_evals_choose_what_runs(trained_src, tmp_path):
  own = trained.copy_workdir(trained_src, tmp_path / "w")
  cfg = json.loads((own / "config.json").read_text())
  cfg["evals"] = {"pose_distance": {}}
  (own / "config.json").write_text(json.dumps(cfg))
  result = run.evaluate_workdir(own, split="test", max_examples=1,
                                progress=False)
  assert result["settings"]["evals"] == ["pose_distance"]
  for rows in result["languages"].values():
    for m in rows.values():
      assert set(m) == {"examples", "dtw", "dtw_mje"}
  assert not (own / "samples").exists()  # render not configured


def test_backtranslator_config_spec_is_an_error(workdir):
  with pytest.raises(run.EvaluateError, match="evaluation never trains"):
    run.evaluate_workdir(workdir, split="test", max_examples=1,
                         backtranslation="experiments/backtranslation.py",
                         progress=False)


def test_bad_evals_config_fails_before_generating(trained_src, tmp_path):
  own = trained.copy_workdir(trained_src, tmp_path / "w")
  cfg = json.loads((own / "config.json").read_text())
  cfg["evals"] = {"bleu": {}}
  (own / "config.json").write_text(json.dumps(cfg))
  with pytest.raises(run.EvaluateError, match="unknown evaluator type"):
    run.evaluate_workdir(own, progress=False)


def test_missing_workdir_is_an_evaluate_error(tmp_path):
  with pytest.raises(run.EvaluateError, match="no such workdir"):
    run.evaluate_workdir(tmp_path / "nope", split="test", max_examples=1)
