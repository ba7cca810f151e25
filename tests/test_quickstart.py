"""`signllm quickstart`: its stages end to end (tiny overrides), the compact
summary and verdict, and the embedded corpus built on first use.

The end-to-end workdir is a copy of the shared smoke-trained one (already at
its last step, so the train stage is reused, not repeated) and the
back-translator the quickstart trains is the smoke one: the test covers the
stages' wiring, not the budgets (measured: docs/RESULTS.md).
"""

import argparse

import numpy as np
import pytest
from PIL import Image

from signllm_jax import languages
from signllm_jax import quickstart
from signllm_jax import train
from signllm_jax.data import datasets
from tests import trained


def test_quickstart_end_to_end(tmp_path_factory, tmp_path, capsys,
                               monkeypatch):
  monkeypatch.setattr(quickstart, "QUICK_BACKTRANSLATION",
                      "experiments/backtranslation.py:smoke")
  src = trained.trained_workdir(tmp_path_factory, "experiments/mlsf.py:smoke")
  workdir = trained.copy_workdir(src, tmp_path / "qs")
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  args = argparse.Namespace(workdir=str(workdir), data_dir=str(data_dir),
                            config="experiments/mlsf.py:smoke")
  overrides = trained.smoke_overrides(data_dir) + ["evaluate.max_examples=2"]
  assert quickstart.run(args, overrides) == 0
  out = capsys.readouterr().out
  # This config enables back-translation: the quickstart trains its own.
  assert "back-translator: training experiments/backtranslation.py:smoke" \
      in out
  assert (workdir / "backtranslator" / "checkpoints").is_dir()
  for n in range(1, 5):
    assert f"=== [{n}/4]" in out
  assert f"dataset: {data_dir}" in out
  assert f"already trained to step {trained.SMOKE_STEPS}" in out
  # One compact row per language, not the full tables (those go to files).
  table = out[out.index("DTW-MJE (lower wins)"):out.index("Verdict:")]
  for lang in languages.LANG_CODES:
    assert sum(l.startswith(f"{lang} ") for l in table.splitlines()) == 1
  assert "### " not in out
  assert "DTW-MJE (lower wins)" in out and "BLEU-4" in out
  assert "Lengths: " in out and "of 16 generated samples" in out
  verdict = out[out.index("Verdict:"):].splitlines()[0]
  assert "beats mean, retrieval" in verdict and "of 8 languages" in verdict
  assert "Stage times:" in out
  assert out.rstrip().endswith(f"Next: signllm serve --workdir {workdir}")
  assert (workdir / "eval_test.md").read_text().startswith("## ")
  assert (workdir / "quickstart_summary.txt").read_text().count("Verdict") \
      == 1
  gen_dir = workdir / "generated"
  assert (gen_dir / "generated.skels").exists()
  assert len(list(gen_dir.glob("*.gif"))) == 8
  strips = sorted(gen_dir.glob("*_strip.png"))
  assert len(strips) == 8
  w, h = Image.open(strips[0]).size
  assert w == quickstart.STRIP_FRAMES * 120 and h > 2 * 120
  assert len(list((workdir / "samples").glob("*.gif"))) == 8


def test_quickstart_runs_prompt2langgloss(tmp_path_factory, tmp_path, capsys):
  """A P2LG workdir: prompts in, the decoded LangGloss printed, the stage-1
  table and the 'reference LangGloss' row (not a baseline) in the files."""
  src = trained.trained_workdir(tmp_path_factory,
                                "experiments/prompt2langgloss.py:smoke")
  workdir = trained.copy_workdir(src, tmp_path / "qs_p2lg")
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  args = argparse.Namespace(workdir=str(workdir), data_dir=str(data_dir),
                            config="experiments/prompt2langgloss.py:smoke")
  overrides = trained.smoke_overrides(data_dir) + [
      "evaluate.max_examples=1", "evals.backtranslation.enabled=False"]
  assert quickstart.run(args, overrides) == 0
  out = capsys.readouterr().out
  assert out.count("LangGloss: ") == len(languages.LANG_CODES)
  verdict = out[out.index("Verdict:"):].splitlines()[0]
  assert "reference LangGloss" not in verdict
  assert "### Stage 1" in (workdir / "eval_test.md").read_text()


def test_quickstart_recipe_has_a_p2lg_mode():
  from signllm_jax import config as config_lib
  cfg = config_lib.load_config("experiments/quickstart.py:mode=p2lg")
  assert cfg.model.mode == "p2lg" and not cfg.data.language_homogeneous
  with pytest.raises(ValueError, match="mlsf or p2lg"):
    config_lib.load_config("experiments/quickstart.py:mode=x")


def _report(model_mje, model_travel, nn_travel=1.2, langs=("ASL", "GSL")):
  """A report in evaluate's layout: model first, baselines, ground truth."""
  model = "SignLLM-MLSF (test)"
  def row(mje, travel, acc):
    return {"examples": 3, "dtw_mje": mje, "hand_travel": travel,
            "hand_motion_ratio": 0.5, "gloss_accuracy": acc}
  return {"languages": {lang: {
      model: row(model_mje, model_travel, 20.0),
      f"{model}, oracle length": row(0.01, 1.0, 90.0),  # not a baseline
      "mean pose": row(0.28, 0.0, 1.0),
      "nearest neighbour": row(0.13, nn_travel, 60.0),
      "ground truth": row(0.0, 1.0, 100.0)} for lang in langs}}


def test_summary_verdict_met():
  lengths = quickstart.length_check([30, 40], [32, 40], cap=128)
  lines, met = quickstart.summarize(_report(0.07, 0.9), lengths)
  assert met
  text = "\n".join(lines)
  # hand_travel is preferred over the hand motion ratio when present.
  assert "hand travel (1 wins)" in text and "hand motion" not in text
  assert "gloss acc. % (higher wins)" in text
  asl = next(l for l in lines if l.startswith("ASL"))
  # best baseline per metric: retrieval on DTW-MJE, hand travel and gloss.
  assert asl.count("retrieval") == 3
  assert "0.07*" in asl and "0.9*" in asl and "20 " in asl
  assert "20*" not in asl
  assert lines[-1] == ("Verdict: the model beats mean and retrieval on "
                       "DTW-MJE and hand travel in 2 of 2 languages.")
  assert "0 of 2 generated samples reached the 128-frame cap" in text


def test_summary_ratio_closer_to_one_wins():
  # 1.3 is farther from 1 than retrieval's 1.2: hand travel is lost.
  lines, met = quickstart.summarize(_report(0.07, 1.3))
  assert not met
  assert lines[-1].endswith("in 0 of 2 languages (not ASL, GSL).")
  lines, met = quickstart.summarize(_report(0.07, 0.85, nn_travel=1.1,
                                            langs=("ASL",)))
  assert not met  # |0.85 - 1| > |1.1 - 1|
  lines, met = quickstart.summarize(_report(0.07, 0.95, nn_travel=1.1))
  assert met


def test_summary_samples_at_the_cap_fail_the_verdict():
  lengths = quickstart.length_check([128, 40], [60, 40], cap=128)
  assert lengths["at_cap"] == 1
  lines, met = quickstart.summarize(_report(0.07, 0.9), lengths)
  assert not met
  assert "did not stop" in lines[-1]
  assert "1 of 2 generated samples reached the 128-frame cap" in \
      "\n".join(lines)


def test_summary_falls_back_to_the_hand_motion_ratio():
  report = _report(0.07, 0.9)
  for systems in report["languages"].values():
    for metrics in systems.values():
      del metrics["hand_travel"]
  lines, met = quickstart.summarize(report)
  assert "hand motion (1 wins)" in lines[0]
  assert not met  # 0.5 everywhere: a tie does not beat


def test_length_check():
  out = quickstart.length_check([10, 20, 128], [20, 20, 64], cap=128)
  assert out == {"n": 3, "at_cap": 1, "cap": 128, "median_ratio": 1.0}


def test_latest_step(tmp_path):
  assert quickstart._latest_step(tmp_path) == 0
  for step in (3, 12):
    (tmp_path / "checkpoints" / str(step)).mkdir(parents=True)
    (tmp_path / "checkpoints" / str(step) / "_CHECKPOINT_METADATA").touch()
  (tmp_path / "checkpoints" / "15.orbax-checkpoint-tmp").mkdir()
  (tmp_path / "checkpoints" / "20").mkdir()  # unfinished: no metadata
  assert quickstart._latest_step(tmp_path) == 12


def test_train_builds_the_embedded_corpus_when_missing(tmp_path, caplog):
  from signllm_jax import config as config_lib
  cfg = config_lib.load_config("experiments/mlsf.py:smoke",
                               [f"data.data_dir={tmp_path}"])
  with pytest.raises(FileNotFoundError):
    datasets.dataset_dir("synth_sign", "tiny", tmp_path)
  with caplog.at_level("WARNING"):
    path, tok, stats = train.load_data_assets(cfg)
  assert "is not built" in caplog.text and "building it now" in caplog.text
  assert path == datasets.dataset_dir("synth_sign", "tiny", tmp_path)
  assert tok.vocab_size > 0 and np.isfinite(stats.mean_Jx3).all()


def test_a_real_dataset_is_still_an_explicit_build(tmp_path):
  from signllm_jax import config as config_lib
  cfg = config_lib.load_config("experiments/mlsf.py:smoke", [
      f"data.data_dir={tmp_path}", "data.name=prompt2sign",
      "data.config=GSL"])
  with pytest.raises(train.TrainingError, match="signllm data build "
                     "prompt2sign"):
    train.load_data_assets(cfg)
  assert not list(tmp_path.iterdir())
