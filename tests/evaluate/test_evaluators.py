"""Tests of the evaluators and their registry on small deterministic poses."""

import pathlib

import ml_collections
import numpy as np
import pytest

from signllm_jax import config as config_lib
from signllm_jax import skeleton
from signllm_jax.data import normalize
from signllm_jax.data.synth import lexicon as lexicon_lib
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import evaluators
from signllm_jax.evaluate import pose_evals
from signllm_jax.evaluate import report as report_lib
from signllm_jax.evaluate import run
from signllm_jax.evaluate import synth_evals
from signllm_jax.evaluate import text_evals

MODEL = "model"
DOUBLE = "double"  # the references scaled by 2: twice the hand travel
OFFSET = np.float32(0.3)  # the model's poses: the references shifted in x
TEXTS = {"ASL": ["the cat sat on the mat", "a dog runs home today"],
         "GSL": ["der hund läuft nach hause", "die katze schläft heute"]}


def _references():
  rng = np.random.default_rng(0)
  refs = []
  for lengths in ((6, 8), (7, 9)):
    for t in lengths:
      refs.append(rng.normal(size=(t, skeleton.NUM_JOINTS, 3)).astype(
          np.float32))
  return refs


def _context(tmp_path, *, mode="mlsf", metadata=None, bt_workdir="",
             render_samples=0, lang_gloss_pred=None):
  refs = _references()
  examples = []
  for k, (lang, text) in enumerate(
      (l, t) for l in TEXTS for t in TEXTS[l]):
    examples.append(context_lib.Example(
        idx=k, lang=lang, text=text, ref_TxJx3=refs[k],
        pred_TxJx3=refs[k] + OFFSET * np.eye(3, dtype=np.float32)[0],
        oracle_TxJx3=refs[k], sign_ids=np.zeros(0, np.int64),
        spans=np.zeros((0, 2), np.int64), lang_gloss_ref=f"G{k}",
        lang_gloss_pred=None if lang_gloss_pred is None
        else lang_gloss_pred[k]))
  stats = normalize.compute_stats(refs)
  mean_frame = np.mean(np.concatenate(refs), axis=0)
  systems = {
      MODEL: [e.pred_TxJx3 for e in examples],
      DOUBLE: [2 * r for r in refs],
      report_lib.MEAN_POSE: [np.repeat(mean_frame[None], len(r), 0)
                             for r in refs],
      report_lib.GROUND_TRUTH: refs,
  }
  return context_lib.Context(
      examples=examples, systems=systems, model_name=MODEL, stats=stats,
      tokenizer=None, mode=mode, dataset_metadata=metadata or {},
      evaluate_cfg=ml_collections.ConfigDict(dict(
          split="test", max_examples=-1, backtranslation_workdir=bt_workdir,
          render_samples=render_samples)),
      data_cfg=ml_collections.ConfigDict(dict(
          name="synth_sign", config="tiny", data_dir="/data")),
      workdir=pathlib.Path(tmp_path), split="test", fps=25.0)


class GroundTruthTranslator:
  """Knows the ground-truth frames' sentences, says "" for anything else."""

  name = "ground-truth lookup"

  def __init__(self, ctx):
    self.known = {
        normalize.to_frames(e.ref_TxJx3, ctx.stats).tobytes(): e.text
        for e in ctx.examples}
    self.calls = []

  def translate(self, frames_list):
    self.calls.append([np.shape(f) for f in frames_list])
    return [self.known.get(np.asarray(f).tobytes(), "") for f in frames_list]


def test_pose_distance_ground_truth_zero_offset_in_pt_units(tmp_path):
  ctx = _context(tmp_path)
  res = pose_evals.PoseDistance()(ctx)
  assert res.skipped is None and res.settings["dtw_units"] == "PT file units"
  for lang in TEXTS:
    rows = res.metrics[lang]
    assert rows[report_lib.GROUND_TRUTH]["dtw"] == pytest.approx(0, abs=1e-6)
    assert rows[report_lib.GROUND_TRUTH]["dtw_mje"] == pytest.approx(
        0, abs=1e-6)
    # Every joint 0.3 off along the diagonal path: 0.3 / 3 PT units.
    assert rows[MODEL]["dtw_mje"] == pytest.approx(OFFSET / 3, rel=1e-4)
    assert rows[report_lib.MEAN_POSE]["dtw"] > rows[MODEL]["dtw"] > 0
  halved = pose_evals.PoseDistance(units_divisor=1.5)(ctx)
  assert halved.metrics["ASL"][MODEL]["dtw_mje"] == pytest.approx(
      2 * res.metrics["ASL"][MODEL]["dtw_mje"], rel=1e-5)


def test_pose_distance_matches_report_pose_metrics():
  rng = np.random.default_rng(0)
  hyps = [rng.normal(size=(t, 50, 3)).astype(np.float32) for t in (5, 9, 7)]
  refs = [rng.normal(size=(t, 50, 3)).astype(np.float32) for t in (6, 4, 8)]
  pt, mje = pose_evals.dtw_scores(hyps, refs)
  expected = report_lib.pose_metrics(hyps, refs)
  assert np.mean(pt) == pytest.approx(expected["dtw"], rel=1e-5)
  assert np.mean(mje) == pytest.approx(expected["dtw_mje"], rel=1e-5)
  with pytest.raises(ValueError, match="t_pad 8 < the longest"):
    pose_evals.dtw_scores(hyps, refs, t_pad=8)


def test_hand_motion_ratio(tmp_path):
  res = pose_evals.HandMotion()(_context(tmp_path))
  for lang in TEXTS:
    rows = res.metrics[lang]
    assert rows[report_lib.GROUND_TRUTH]["hand_motion_ratio"] == (
        pytest.approx(1.0))
    assert rows[MODEL]["hand_motion_ratio"] == pytest.approx(1.0, rel=1e-5)
    assert rows[DOUBLE]["hand_motion_ratio"] == pytest.approx(2.0, rel=1e-5)
    assert rows[report_lib.MEAN_POSE]["hand_motion_ratio"] == 0.0
    assert rows[report_lib.GROUND_TRUTH]["hand_travel"] == pytest.approx(1.0)
    assert rows[MODEL]["hand_travel"] == pytest.approx(1.0, rel=1e-5)
    assert rows[DOUBLE]["hand_travel"] == pytest.approx(2.0, rel=1e-5)
    assert rows[report_lib.MEAN_POSE]["hand_travel"] == 0.0


def test_backtranslation_scores_each_system_on_its_own_texts(tmp_path):
  ctx = _context(tmp_path)
  fake = GroundTruthTranslator(ctx)
  res = text_evals.BackTranslation(samples=1, translator=fake)(ctx)
  assert len(fake.calls) == 1  # every system in one call: one shape
  assert fake.calls[0] == [(len(p), skeleton.FRAME_DIM)
                           for poses in ctx.systems.values() for p in poses]
  assert res.settings == {"backtranslator": fake.name}
  assert fake.name in res.note
  for lang, texts in TEXTS.items():
    gt = res.metrics[lang][report_lib.GROUND_TRUTH]
    for key in ("bleu1", "bleu2", "bleu3", "bleu4", "rouge"):
      assert gt[key] == pytest.approx(100.0), (lang, key)
    assert res.metrics[lang][MODEL]["bleu1"] == 0.0
    assert res.metrics[lang][MODEL]["rouge"] == 0.0
    assert gt["samples"] == [{"reference": texts[0],
                              "backtranslation": texts[0]}]


def test_no_backtranslator_skips_and_says_how_to_train(tmp_path):
  res = text_evals.BackTranslation()(_context(tmp_path))
  assert res.skipped and not res.metrics
  assert ("signllm train --config experiments/backtranslation.py:cpu "
          "--workdir W --config.data.name=synth_sign "
          "--config.data.config=tiny --config.data.data_dir=/data") in res.note
  assert "--config.evaluate.backtranslation_workdir=W" in res.note


def test_backtranslation_never_trains_from_a_config(tmp_path):
  ctx = _context(tmp_path, bt_workdir="experiments/backtranslation.py:cpu")
  with pytest.raises(run.EvaluateError, match="evaluation never trains"):
    text_evals.BackTranslation()(ctx)


def test_backtranslation_bad_workdir_is_an_evaluate_error(tmp_path):
  ctx = _context(tmp_path, bt_workdir=str(tmp_path / "missing"))
  with pytest.raises(run.EvaluateError, match="backtranslation_workdir"):
    text_evals.BackTranslation()(ctx)
  assert not (tmp_path / "missing").exists()


def test_gloss_accuracy_skipped_without_a_lexicon(tmp_path):
  res = synth_evals.GlossAccuracy()(_context(tmp_path))
  assert res.skipped == "the dataset carries no SynthSign lexicon"
  assert not res.metrics and not res.note
  res = synth_evals.GlossAccuracy()(_context(
      tmp_path, metadata={"corpus": {"size": "tiny", "seed": 0}}))
  assert res.skipped == "the examples carry no reference signs"


def test_dataset_lexicon_capability():
  assert synth_evals.dataset_lexicon({}) is None
  assert synth_evals.dataset_lexicon({"pose_convention": {}}) is None
  assert synth_evals.dataset_lexicon(
      {"corpus": {"seed": 3}}) == lexicon_lib.Lexicon()
  assert synth_evals.dataset_lexicon(
      {"lexicon_seed": 5}) == lexicon_lib.Lexicon(5)


def test_langgloss_exact_match(tmp_path):
  # ASL: both right; GSL: one of two.
  ctx = _context(tmp_path, mode="p2lg",
                 lang_gloss_pred=["G0", "G1", "G2", "wrong"])
  res = text_evals.LangGlossExact()(ctx)
  assert res.metrics == {"ASL": {MODEL: {"langgloss_exact": 100.0}},
                         "GSL": {MODEL: {"langgloss_exact": 50.0}}}
  assert text_evals.LangGlossExact()(_context(tmp_path)).skipped


def test_render_writes_per_language_samples(tmp_path):
  res = pose_evals.Render(size=64)(_context(tmp_path, render_samples=1))
  assert [p.name for p in res.files] == ["test_ASL_00000.gif",
                                         "test_GSL_00002.gif"]
  assert all(p.stat().st_size > 0 for p in res.files)
  res = pose_evals.Render()(_context(tmp_path / "none"))
  assert res.skipped and not (tmp_path / "none" / "samples").exists()


def test_build_runs_only_the_configured_evaluators(tmp_path):
  built = evaluators.build({"pose_distance": {}})
  assert list(built) == ["pose_distance"]
  out = run.run_evaluators(built, _context(tmp_path))
  assert out["results"]["ASL"][MODEL].keys() == {"examples", "dtw",
                                                 "dtw_mje"}
  assert out["results"]["GSL"][MODEL]["examples"] == 2
  assert out["notes"] == ["DTW in PT file units (internal / 3)."]
  assert not out["skipped"] and list(out["seconds"]) == ["pose_distance"]


def test_default_evals_and_run_order():
  built = evaluators.build(evaluators.default_evals_config())
  assert list(built) == list(evaluators.REGISTRY)
  built = evaluators.build(ml_collections.ConfigDict({
      "render": {"size": 32}, "dtw_third": {"type": "pose_distance"},
      "hand_motion": {"enabled": False}}))
  assert list(built) == ["dtw_third", "render"]
  assert built["render"].size == 32


def test_evals_config_falls_back_to_the_defaults():
  cfg = ml_collections.ConfigDict({"data": {}})
  assert evaluators.evals_config(cfg) == evaluators.default_evals_config()
  cfg.evals = {"hand_motion": {}}
  assert list(evaluators.evals_config(cfg)) == ["hand_motion"]


def test_build_errors_name_the_problem():
  with pytest.raises(ValueError, match="evals.x: unknown evaluator type 'x'"):
    evaluators.build({"x": {}})
  with pytest.raises(ValueError, match=r"evals.pose_distance: unknown "
                     r"option\(s\) \['unit'\]"):
    evaluators.build({"pose_distance": {"unit": 3}})
  with pytest.raises(ValueError, match="units_divisor must be > 0"):
    evaluators.build({"pose_distance": {"units_divisor": 0}})


def test_command_line_turns_a_default_evaluator_off():
  cfg = ml_collections.ConfigDict({"evals": evaluators.default_evals_config()})
  cfg = config_lib.apply_overrides(cfg, ["evals.render.enabled=False",
                                         "evals.backtranslation.samples=5"])
  built = evaluators.build(evaluators.evals_config(cfg))
  assert "render" not in built and built["backtranslation"].samples == 5
