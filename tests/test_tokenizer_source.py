"""A token-decoder run end to end: a smoke pose tokenizer is trained, a
smoke text -> tokens MLSF run takes its weights (tokenizer_source.py,
state.install_pose_tokenizer), the MLSF step keeps idle groups and the
tokenizer bit-identical, and the workdir generates and evaluates."""

import json

import jax
import numpy as np
import ml_collections
import pytest
from flax import nnx

from signllm_jax import checkpoint
from signllm_jax import config as config_lib
from signllm_jax import state as state_lib
from signllm_jax import steps
from signllm_jax import tokenizer_source
from signllm_jax import train
from signllm_jax import workdir as workdir_lib
from signllm_jax.data import pipeline
from signllm_jax.evaluate import report as report_lib
from signllm_jax.evaluate import run as eval_run
from signllm_jax.evaluate import tokenizer_eval
from signllm_jax.generate import pipeline as gen
from tests import testing
from tests import trained

TOKENS_SMOKE = "experiments/mlsf_tokens_cpu.py:smoke"


@pytest.fixture(scope="module")
def tokenizer_workdir(tmp_path_factory):
  return trained.trained_workdir(tmp_path_factory,
                                 "experiments/pose_tokenizer.py:smoke")


@pytest.fixture(scope="module")
def token_workdir(tmp_path_factory, tokenizer_workdir):
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  cfg = config_lib.load_config(TOKENS_SMOKE, [
      *trained.smoke_overrides(data_dir),
      f"model.tokenizer_workdir={tokenizer_workdir}",
      # Differs from the recipe's smoke width: adopt() must copy it.
      "model.tokenizer_channels=4"])
  workdir = tmp_path_factory.mktemp("tokens")
  train.train_and_evaluate(cfg, workdir)
  return workdir


def test_the_run_holds_the_trained_tokenizer(token_workdir,
                                             tokenizer_workdir):
  tok = workdir_lib.load_workdir(tokenizer_workdir)
  run = workdir_lib.load_workdir(token_workdir)
  assert run.cfg.model.pose_decoder == "tokens"
  assert run.cfg.model.tokenizer_channels == tok.cfg.model.tokenizer_channels
  want = nnx.to_pure_dict(nnx.state(tok.model, nnx.Param))
  got = nnx.to_pure_dict(nnx.state(run.model.pose_tokenizer))
  jax.tree.map(np.testing.assert_array_equal, want, got)
  record = json.loads((token_workdir / "assets" /
                       tokenizer_source.RECORD).read_text())
  assert record["step"] == tok.step and record["tokenizer_channels"] == 16
  losses = testing.losses_by_step(token_workdir)
  assert losses and all(np.isfinite(v) for v in losses.values())


def test_a_missing_or_wrong_tokenizer_workdir_is_a_clear_error(
    tmp_path, tmp_path_factory, token_workdir):
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  base = trained.smoke_overrides(data_dir)
  cfg = config_lib.load_config(TOKENS_SMOKE, [*base,
                                              "model.tokenizer_workdir="])
  with pytest.raises(train.TrainingError, match="tokenizer_workdir"):
    train.train_and_evaluate(cfg, tmp_path / "a")
  cfg = config_lib.load_config(TOKENS_SMOKE, [
      *base, f"model.tokenizer_workdir={tmp_path / 'nowhere'}"])
  with pytest.raises(train.TrainingError, match="no such workdir"):
    train.train_and_evaluate(cfg, tmp_path / "b")
  cfg = config_lib.load_config(TOKENS_SMOKE, [
      *base, f"model.tokenizer_workdir={token_workdir}"])
  with pytest.raises(train.TrainingError, match="not a pose tokenizer"):
    train.train_and_evaluate(cfg, tmp_path / "c")


def test_a_resumed_token_run_keeps_the_tokenizer_it_was_given(
    token_workdir, tokenizer_workdir, tmp_path, tmp_path_factory):
  """Resuming restores the tokenizer from the run's own checkpoint (it is
  not re-adopted); the run goes on from its step."""
  workdir = trained.copy_workdir(token_workdir, tmp_path / "resumed")
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  steps_total = trained.SMOKE_STEPS + 2
  cfg = config_lib.load_config(TOKENS_SMOKE, [
      *trained.smoke_overrides(data_dir, steps=steps_total),
      f"model.tokenizer_workdir={tokenizer_workdir}",
      "model.tokenizer_channels=4"])
  train.train_and_evaluate(cfg, workdir)
  run = workdir_lib.load_workdir(workdir)
  assert run.step == steps_total
  tok = workdir_lib.load_workdir(tokenizer_workdir)
  jax.tree.map(np.testing.assert_array_equal,
               nnx.to_pure_dict(nnx.state(tok.model, nnx.Param)),
               nnx.to_pure_dict(nnx.state(run.model.pose_tokenizer)))
  assert max(testing.losses_by_step(workdir)) == steps_total


def test_mlsf_token_step_keeps_idle_groups_and_the_tokenizer(tmp_path):
  cfg = testing.smoke_config("model.pose_decoder=tokens",
                             "model.tokenizer_channels=8")
  setup = testing.build_setup(cfg)
  step = testing.train_step(setup)
  it = pipeline.make_train_iterator(cfg.data, mesh=setup.mesh, seed=0)
  first = next(it)
  second = next(it)
  while int(second["lang"][0]) == int(first["lang"][0]):
    second = next(it)
  state, _, _ = step(jax.tree.map(lambda x: x.copy(), setup.state), None,
                     first)
  before = testing.flat_state(state)
  after, _, metrics = step(state, None, second)
  after = testing.flat_state(after)
  assert int(metrics["nonfinite"]) == 0
  assert 0 < float(metrics["token_xent"]) < 20
  lang = int(second["lang"][0])
  is_group = dict(zip(before, jax.tree.leaves(
      steps.group_leaf_mask(setup.state, setup.num_langs))))
  moved = tokenizer_leaves = 0
  for name, b in before.items():
    a = after[name]
    if "pose_tokenizer" in name:
      np.testing.assert_array_equal(a, b, err_msg=name)
      tokenizer_leaves += 1
    elif is_group[name]:
      others = np.arange(setup.num_langs) != lang
      np.testing.assert_array_equal(a[others], b[others], err_msg=name)
      moved += int(not np.array_equal(a[lang], b[lang]))
  assert tokenizer_leaves > 10
  assert moved > 10


def test_the_token_workdir_generates_and_evaluates(token_workdir, tmp_path):
  loaded = gen.load_workdir(token_workdir)
  out = gen.generate(loaded, [gen.Request("the mother eats", "ASL",
                                          "--text")])[0]
  assert out.pose_TxJx3.shape[1:] == (50, 3)
  assert len(out.pose_TxJx3) % 4 == 0  # whole tokens, own timing
  assert np.isfinite(out.pose_TxJx3).all()
  # Sampling through the generate config: seeded, so repeatable.
  hot = gen.load_workdir(token_workdir, ["generate.temperature=1.5",
                                         "generate.top_k=50",
                                         "generate.seed=1"])
  req = [gen.Request("the mother eats", "ASL", "--text")]
  a, b = gen.generate(hot, req)[0], gen.generate(hot, req)[0]
  np.testing.assert_array_equal(a.pose_TxJx3, b.pose_TxJx3)
  result = eval_run.evaluate_workdir(token_workdir, split="test",
                                     max_examples=2, progress=False,
                                     backtranslation="none",
                                     baseline_train_examples=16)
  assert result["settings"]["generate"]["temperature"] == 0.0
  for lang, rows in result["languages"].items():
    names = list(rows)
    assert names[0].startswith("SignLLM-MLSF"), names
    model = rows[names[0]]
    assert model["examples"] == 2, lang
    for key in ("dtw_mje", "gloss_accuracy", "gloss_accuracy_dtw",
                "hand_travel"):
      assert np.isfinite(model[key]), (lang, key)
    assert rows[report_lib.GROUND_TRUTH]["gloss_accuracy"] == pytest.approx(
        100.0)


class _RecordingTranslator:
  """Answers one constant text for every sequence, so the ground truth and
  the reconstruction score alike; records what it got."""
  name = "recording translator"

  def __init__(self):
    self.calls = []

  def translate(self, frames_list):
    self.calls.append([np.asarray(f) for f in frames_list])
    return ["the same text"] * len(frames_list)


def test_the_tokenizer_report_reads_ground_truth_and_reconstruction(
    tokenizer_workdir):
  loaded = workdir_lib.load_workdir(tokenizer_workdir)
  data_cfg = ml_collections.ConfigDict(loaded.cfg.data.to_dict())
  data_cfg.language_homogeneous = True
  translator = _RecordingTranslator()
  report = tokenizer_eval.evaluate(loaded, data_cfg, "test", 2,
                                   progress=False, speed_batch=1,
                                   speed_frames=8, translator=translator)
  bt = dict(report["backtranslation"])
  assert bt.pop("backtranslator") == "recording translator"
  assert set(bt) == set(report["examples"])
  # Two reads per language, ground truth then reconstruction, one
  # [T, 151] sequence per example, the same lengths, different poses.
  assert len(translator.calls) == 2 * len(bt)
  for gt, rec in zip(translator.calls[::2], translator.calls[1::2]):
    assert [f.shape for f in gt] == [f.shape for f in rec]
    assert all(f.ndim == 2 and f.shape[1] == 151 for f in gt)
    assert any(not np.allclose(a, b) for a, b in zip(gt, rec))
  for lang, scores in bt.items():
    assert scores["ground_truth"] == scores["reconstructed"]
  assert "Back-translation BLEU-4 (recording translator)" in (
      tokenizer_eval.to_markdown(report))
