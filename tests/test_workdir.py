"""A trained workdir is self-contained and loads its parameters alone."""

import json
import shutil

import numpy as np
import pytest

from signllm_jax import config as config_lib
from signllm_jax import train
from signllm_jax import workdir as workdir_lib
from signllm_jax.data import datasets
from signllm_jax.generate import pipeline as gen
from tests import trained


def test_generate_works_with_the_dataset_folder_deleted(tmp_path,
                                                        tmp_path_factory):
  data_dir = tmp_path / "tfds"
  shutil.copytree(trained.tiny_data_dir(tmp_path_factory), data_dir)
  cfg = config_lib.load_config("experiments/mlsf.py:smoke",
                               trained.smoke_overrides(data_dir, steps=2))
  workdir = tmp_path / "run"
  train.train_and_evaluate(cfg, workdir)
  assets = workdir / workdir_lib.ASSETS
  info = json.loads((assets / workdir_lib.DATASET).read_text())
  assert info["name"] == "synth_sign" and info["skeleton"]["frame_dim"] == 151
  before = workdir_lib.load_workdir(workdir)
  shutil.rmtree(data_dir)
  with pytest.raises(FileNotFoundError):
    datasets.dataset_dir("synth_sign", "tiny", data_dir)
  # Copied elsewhere, as to another machine.
  moved = shutil.copytree(workdir, tmp_path / "elsewhere")
  loaded = workdir_lib.load_workdir(moved)
  assert loaded.tokenizer.vocab_size == before.tokenizer.vocab_size
  np.testing.assert_array_equal(loaded.stats.mean_Jx3, before.stats.mean_Jx3)
  out = gen.generate(loaded, [gen.Request("Often the mother eats the bread.",
                                          "ASL", "--text")],
                     length_mode="counter")
  assert out[0].pose_TxJx3.shape[1:] == (50, 3)
  assert np.isfinite(out[0].pose_TxJx3).all()


def test_a_workdir_that_cannot_be_restored_is_one_clear_error(tmp_path):
  with pytest.raises(workdir_lib.WorkdirError, match="no such workdir"):
    workdir_lib.load_workdir(tmp_path / "nope")
  (tmp_path / "w").mkdir()
  with pytest.raises(workdir_lib.WorkdirError, match="no config.json"):
    workdir_lib.load_workdir(tmp_path / "w")
  (tmp_path / "w" / "config.json").write_text("{")
  with pytest.raises(workdir_lib.WorkdirError, match="not valid JSON"):
    workdir_lib.load_workdir(tmp_path / "w")


def test_a_checkpoint_of_another_model_is_named_not_reinitialised(
    tmp_path, tmp_path_factory):
  src = trained.trained_workdir(tmp_path_factory, "experiments/mlsf.py:smoke")
  workdir = trained.copy_workdir(src, tmp_path / "w")
  # The same checkpoint read as a model of another width: no fresh init.
  with pytest.raises(workdir_lib.WorkdirError,
                     match="does not fit this model .*params/"):
    workdir_lib.load_workdir(workdir, ["model.d_model=48"])


def test_per_language_statistics_travel_with_the_workdir(tmp_path,
                                                         tmp_path_factory):
  """A model trained with data.pose_stats=per_lang is de-normalised with
  each language's own statistics, read from W/assets."""
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  cfg = config_lib.load_config(
      "experiments/mlsf_cpu.py:smoke",
      trained.smoke_overrides(data_dir, steps=2)
      + ["data.pose_stats=per_lang", "data.langs=ASL,KSL"])
  workdir = tmp_path / "w"
  train.train_and_evaluate(cfg, workdir)
  loaded = workdir_lib.load_workdir(workdir)
  assert set(loaded.stats_by_lang) == {"ASL", "KSL"}
  path = datasets.dataset_dir("synth_sign", "tiny", data_dir)
  for lang in ("ASL", "KSL"):
    want = datasets.load_stats(path=path, lang=lang)
    got = loaded.stats_for(lang)
    np.testing.assert_allclose(got.mean_Jx3, want.mean_Jx3, rtol=1e-6)
    assert got.std == pytest.approx(want.std)
  # What the workdir holds is what generation uses (SynthSign's languages
  # share statistics, so shift one language's to see it read back).
  f = workdir / workdir_lib.ASSETS / workdir_lib.STATS
  d = json.loads(f.read_text())
  d["by_lang"]["KSL"]["mean_Jx3"] = (
      np.asarray(d["by_lang"]["KSL"]["mean_Jx3"]) + 1.0).tolist()
  f.write_text(json.dumps(d))
  moved = workdir_lib.load_workdir(workdir)
  np.testing.assert_allclose(moved.stats_for("KSL").mean_Jx3,
                             loaded.stats_for("KSL").mean_Jx3 + 1.0,
                             rtol=1e-6)
  np.testing.assert_allclose(moved.stats.mean_Jx3, loaded.stats.mean_Jx3)
  with pytest.raises(workdir_lib.WorkdirError, match="no pose statistics"):
    loaded.stats_for("GSL")
  # A global-statistics workdir has none per language.
  glob = workdir_lib.load_workdir(trained.trained_workdir(
      tmp_path_factory, "experiments/mlsf_cpu.py:smoke"))
  assert glob.stats_by_lang is None
  assert glob.stats_for("ASL") is glob.stats


def test_an_older_workdir_gets_new_inference_defaults(tmp_path):
  """A config.json written before an evaluate/generate field existed reads
  with today's default for it, which an override can set; the blocks a
  model was trained with are left as written."""
  from experiments import base
  cfg = base.get_config()
  d = json.loads(config_lib.to_json(cfg))
  del d["evaluate"]["p2lg_language_given"]
  del d["generate"]["max_gloss_len"]
  d["model"]["d_model"] = 24
  (tmp_path / "config.json").write_text(json.dumps(d))
  got = workdir_lib.read_config(tmp_path)
  assert got.evaluate.p2lg_language_given is False
  assert got.generate.max_gloss_len == cfg.generate.max_gloss_len
  assert got.model.d_model == 24
  got = workdir_lib.read_config(tmp_path,
                                ["evaluate.p2lg_language_given=True"])
  assert got.evaluate.p2lg_language_given is True
