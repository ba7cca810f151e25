"""Prompt2LangGloss trained apart: a smoke stage-1 run (p2lg_stage=gloss),
then a stage-2 run (p2lg_stage=pose) that adopts it (gloss_source.py,
state.install_params). Stage 1 arrives bit-identical and stays so while
stage 2 trains; stage 2 of the stage-1 run stays at its initialisation; a
stage-1 workdir evaluates stage 1 alone; wrong sources are clear errors."""

import json

import jax
import numpy as np
import pytest
from flax import nnx

from signllm_jax import config as config_lib
from signllm_jax import gloss_source
from signllm_jax import languages
from signllm_jax import train
from signllm_jax import workdir as workdir_lib
from signllm_jax.evaluate import run as eval_run
from signllm_jax.generate import pipeline as gen
from signllm_jax.model import signllm
from tests import trained

P2LG = "experiments/prompt2langgloss_cpu.py:smoke"


def _cfg(tmp_path_factory, *args, steps=trained.SMOKE_STEPS):
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  return config_lib.load_config(
      P2LG + "," + ",".join(args) if args else P2LG,
      trained.smoke_overrides(data_dir, steps=steps))


def _params(module):
  return nnx.to_pure_dict(nnx.state(module))


@pytest.fixture(scope="module")
def gloss_workdir(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("stage1")
  train.train_and_evaluate(
      _cfg(tmp_path_factory, "stage=gloss", "gloss_layers=2"), workdir)
  return workdir


@pytest.fixture(scope="module")
def apart_workdir(tmp_path_factory, gloss_workdir):
  workdir = tmp_path_factory.mktemp("stage2")
  # gloss_layers=1 here: adopt() must take the source's depth (2).
  train.train_and_evaluate(
      _cfg(tmp_path_factory, "stage=pose", f"gloss_from={gloss_workdir}"),
      workdir)
  return workdir


def test_stage1_run_trains_stage1_and_leaves_stage2_at_init(gloss_workdir):
  run = workdir_lib.load_workdir(gloss_workdir)
  # The run's config and seed rebuild its initial model.
  init = signllm.build_model(run.cfg.model,
                             vocab_size=run.tokenizer.vocab_size,
                             num_langs=languages.NUM_LANGS,
                             rngs=nnx.Rngs(run.cfg.seed))
  jax.tree.map(np.testing.assert_array_equal, _params(init.pose),
               _params(run.model.pose))
  changed = jax.tree.leaves(jax.tree.map(
      lambda a, b: bool(np.any(a != b)), _params(init.gloss),
      _params(run.model.gloss)))
  assert any(changed), "stage 1 trained"
  assert not jax.tree.leaves(nnx.state(run.model.pose, nnx.Param)), (
      "stage 2 of a stage-1 run is frozen")


def test_stage2_run_holds_the_adopted_stage1_bit_identical(
    apart_workdir, gloss_workdir):
  src = workdir_lib.load_workdir(gloss_workdir)
  run = workdir_lib.load_workdir(apart_workdir)
  assert run.cfg.model.gloss_encoder_layers == 2
  assert run.cfg.model.gloss_decoder_layers == 2
  jax.tree.map(np.testing.assert_array_equal, _params(src.model.gloss),
               _params(run.model.gloss))
  record = json.loads((apart_workdir / "assets" /
                       gloss_source.RECORD).read_text())
  assert record["step"] == src.step and record["p2lg_stage"] == "gloss"
  # The chain runs from a prompt: stage 1 decodes, stage 2 produces poses.
  out = gen.generate(run, [gen.Request("Can you sign 'The mother eats.'?",
                                       "ASL", "p")],
                     length_mode=gen.own_timing(run))
  assert out[0].lang_gloss and out[0].pose_TxJx3.shape[1:] == (50, 3)


def test_stage1_workdir_evaluates_stage1_alone(gloss_workdir):
  result = eval_run.evaluate_workdir(gloss_workdir, split="test",
                                     max_examples=2, progress=False)
  stage1 = result["settings"]["stage1"]
  assert set(stage1) and all(
      {"greedy", "beam"} <= set(v) for v in stage1.values())
  assert result["languages"] == {}
  assert "stage 1 alone" in result["md_path"].read_text()
  assert (gloss_workdir / "stage1_test.jsonl").is_file()


def test_wrong_stage1_sources_are_clear_errors(tmp_path, tmp_path_factory,
                                               gloss_workdir, apart_workdir):
  # Only a stage-2 run adopts a stage 1.
  cfg = _cfg(tmp_path_factory, "stage=joint", f"gloss_from={gloss_workdir}")
  with pytest.raises(train.TrainingError, match="p2lg_stage=pose"):
    train.train_and_evaluate(cfg, tmp_path / "a")
  # A stage-2-only workdir holds no trained stage 1.
  cfg = _cfg(tmp_path_factory, "stage=pose", f"gloss_from={apart_workdir}")
  with pytest.raises(train.TrainingError, match="no trained stage 1"):
    train.train_and_evaluate(cfg, tmp_path / "b")
  cfg = _cfg(tmp_path_factory, "stage=pose",
             f"gloss_from={tmp_path / 'nowhere'}")
  with pytest.raises(train.TrainingError, match="no such workdir"):
    train.train_and_evaluate(cfg, tmp_path / "c")
  # The stages share the width.
  cfg = _cfg(tmp_path_factory, "stage=pose", f"gloss_from={gloss_workdir}")
  cfg.model.d_model = 24
  with pytest.raises(train.TrainingError, match="d_model"):
    train.train_and_evaluate(cfg, tmp_path / "d")


def test_a_token_stage2_adopts_both_the_tokenizer_and_stage1(
    tmp_path, tmp_path_factory, gloss_workdir):
  tok_dir = trained.trained_workdir(tmp_path_factory,
                                    "experiments/pose_tokenizer.py:smoke")
  cfg = _cfg(tmp_path_factory, "stage=pose", f"gloss_from={gloss_workdir}",
             "decoder=tokens", f"tokenizer={tok_dir}")
  train.train_and_evaluate(cfg, tmp_path / "w")
  run = workdir_lib.load_workdir(tmp_path / "w")
  src = workdir_lib.load_workdir(gloss_workdir)
  tok = workdir_lib.load_workdir(tok_dir)
  jax.tree.map(np.testing.assert_array_equal, _params(src.model.gloss),
               _params(run.model.gloss))
  jax.tree.map(np.testing.assert_array_equal,
               nnx.to_pure_dict(nnx.state(tok.model, nnx.Param)),
               _params(run.model.pose_tokenizer))
  out = gen.generate(run, [gen.Request("Sign 'Vater', please.", "GSL", "p")],
                     length_mode=gen.own_timing(run))
  assert out[0].pose_TxJx3.shape[1:] == (50, 3)
  # Given GSL, no other language's tag is decoded.
  assert not set(out[0].lang_gloss.split()) & (
      set(languages.LANG_CODES) - {"GSL"})
