"""Tests for signllm_jax.generate.pipeline on smoke-trained workdirs."""

import argparse
import json
import logging

import imageio.v3 as iio
import numpy as np
import pytest

from signllm_jax import config as config_lib
from signllm_jax import skeleton
from signllm_jax import workdir as workdir_lib
from signllm_jax.data import datasets
from signllm_jax.data import pose_io
from signllm_jax.data import skels
from signllm_jax.generate import pipeline as gen
from tests import trained

TEXT_ASL = "Often the mother eats the bread."


@pytest.fixture(scope="session")
def mlsf_workdir(tmp_path_factory):
  return trained.trained_workdir(tmp_path_factory, "experiments/mlsf.py:smoke")


@pytest.fixture(scope="session")
def p2lg_workdir(tmp_path_factory):
  return trained.trained_workdir(tmp_path_factory,
                                 "experiments/prompt2langgloss.py:smoke")


@pytest.fixture(scope="module")
def loaded(mlsf_workdir):
  return gen.load_workdir(mlsf_workdir)


def _args(workdir, out, **kw):
  base = dict(workdir=str(workdir), lang="", text="", prompt="",
              input_file="", length="counter", out=str(out),
              formats="skels,npz", convention="prompt2sign", gloss="",
              backend="model")
  base.update(kw)
  return argparse.Namespace(**base)


def test_load_workdir(loaded, mlsf_workdir):
  assert loaded.step == trained.SMOKE_STEPS
  assert loaded.mode == "mlsf"
  assert "ASL" in loaded.langs and len(loaded.langs) == 8
  assert str(trained.SMOKE_STEPS) in loaded.name
  assert loaded.workdir == mlsf_workdir


def test_single_and_batch_agree(loaded, tmp_path):
  single = gen.generate(loaded, [gen.Request(TEXT_ASL, "ASL", "--text")])[0]
  f = tmp_path / "in.txt"
  f.write_text(f"GSL\tDie Mutter isst.\n\n{TEXT_ASL}\nASL\tThe father "
               "drinks.\n", encoding="utf-8")
  reqs = gen.read_input_file(f, mode="mlsf", default_lang="ASL")
  assert [r.lang for r in reqs] == ["GSL", "ASL", "ASL"]
  assert reqs[1].where.endswith("line 3")
  batch = gen.generate(loaded, reqs, batch_size=8)
  assert [g.id for g in batch] == ["0000_GSL", "0001_ASL", "0002_ASL"]
  assert batch[1].source == TEXT_ASL
  assert batch[1].pose_TxJx3.shape == single.pose_TxJx3.shape
  np.testing.assert_allclose(batch[1].pose_TxJx3, single.pose_TxJx3,
                             atol=1e-4)
  np.testing.assert_allclose(batch[1].counter_T, single.counter_T, atol=1e-5)
  for g in batch:
    assert g.pose_TxJx3.shape[1:] == (skeleton.NUM_JOINTS, 3)
    assert np.isfinite(g.pose_TxJx3).all()
    assert g.timing == "predicted"


def test_every_format_written_and_readable(mlsf_workdir, tmp_path):
  out = tmp_path / "out"
  written = gen.generate_cli(_args(
      mlsf_workdir, out, lang="ASL", text=TEXT_ASL,
      formats="skels,pose,npz,gif,mp4"), [])
  names = sorted(p.name for p in written)
  assert names == sorted(["generated.skels", "generated.text",
                          "generated.files", "generated.npz",
                          "0000_ASL.pose", "0000_ASL.gif", "0000_ASL.mp4"])
  npz = np.load(out / "generated.npz")
  n = int(npz["lengths"][0])
  pose = npz["pose"][0, :n]
  assert str(npz["text"][0]) == TEXT_ASL and str(npz["lang"][0]) == "ASL"
  assert str(npz["timing"]) == "predicted"
  read = skels.read_split(out, "generated")
  assert read.convention == "prompt2sign"
  assert [r.text for r in read.records] == [TEXT_ASL]
  # 5 decimals of value / 9: rounding error <= 0.5e-5 * 9.
  np.testing.assert_allclose(read.records[0].pose, pose, atol=5e-5)
  pose_read, fps = pose_io.read_internal_pose(out / "0000_ASL.pose")
  assert fps == gen.FPS
  np.testing.assert_allclose(pose_read, pose, atol=1e-4)
  gif = iio.imread(out / "0000_ASL.gif", index=None)
  assert gif.shape[0] == n
  assert (out / "0000_ASL.mp4").stat().st_size > 0


def test_pt_convention_is_neck_centred(mlsf_workdir, tmp_path):
  gen.generate_cli(_args(mlsf_workdir, tmp_path, lang="GSL",
                         text="Die Mutter isst.", formats="skels",
                         convention="pt"), [])
  read = skels.read_split(tmp_path, "generated")
  assert read.convention == "pt"
  assert read.neck_centred


def test_truncation_warns(loaded, caplog):
  long_text = " ".join(["bread"] * 200)
  with caplog.at_level(logging.WARNING, logger=gen.__name__):
    (g,) = gen.generate(loaded, [gen.Request(long_text, "ASL", "--text")])
  assert g.truncated
  assert "truncated" in caplog.text and "--text" in caplog.text


@pytest.mark.parametrize("request_, message", [
    (gen.Request("   ", "ASL", "--text"), "--text: empty text"),
    (gen.Request("hello", "XYZ", "--text"), "unknown sign language code"),
    (gen.Request("hello", None, "--text"), "no sign language given"),
])
def test_bad_requests(loaded, request_, message):
  with pytest.raises(gen.GenerateError, match=message):
    gen.generate(loaded, [request_])


def test_language_not_trained(mlsf_workdir):
  loaded = gen.load_workdir(mlsf_workdir, ["data.langs=ASL,GSL"])
  with pytest.raises(gen.GenerateError, match="not trained on DSGS"):
    gen.generate(loaded, [gen.Request("Hallo", "DSGS", "--text")])


def test_oracle_length_refused(loaded):
  with pytest.raises(gen.GenerateError, match="signllm evaluate"):
    gen.generate(loaded, [gen.Request("hi", "ASL", "x")],
                 length_mode="oracle")


def test_length_timing_without_a_length_head_refused(loaded):
  assert not loaded.cfg.model.get("length_head")
  assert gen.own_timing(loaded) == "counter"
  with pytest.raises(gen.GenerateError, match="length head"):
    gen.generate(loaded, [gen.Request("hi", "ASL", "x")],
                 length_mode="length")


def test_bad_workdirs(tmp_path, mlsf_workdir):
  with pytest.raises(gen.GenerateError, match="no such workdir"):
    gen.load_workdir(tmp_path / "missing")
  with pytest.raises(gen.GenerateError, match="no config.json"):
    gen.load_workdir(tmp_path)
  (tmp_path / "config.json").write_text(
      (mlsf_workdir / "config.json").read_text())
  with pytest.raises(gen.GenerateError, match="no checkpoint"):
    gen.load_workdir(tmp_path)
  (tmp_path / "config.json").write_text("{not json")
  with pytest.raises(gen.GenerateError, match="not valid JSON"):
    gen.load_workdir(tmp_path)


def test_cli_argument_errors(mlsf_workdir, tmp_path):
  with pytest.raises(gen.GenerateError, match="unknown gif2"):
    gen.generate_cli(_args(mlsf_workdir, tmp_path, lang="ASL", text="x",
                           formats="gif2"), [])
  with pytest.raises(gen.GenerateError, match="pass --text"):
    gen.generate_cli(_args(mlsf_workdir, tmp_path, prompt="Show 'x'."), [])
  with pytest.raises(gen.GenerateError, match="no input lines"):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    gen.generate_cli(_args(mlsf_workdir, tmp_path, lang="ASL",
                           input_file=str(empty)), [])


def test_p2lg_generation(p2lg_workdir, tmp_path, capsys):
  prompt = "Would you demonstrate 'Often the mother eats the bread.' in signs?"
  written = gen.generate_cli(_args(p2lg_workdir, tmp_path, prompt=prompt,
                                   formats="skels,npz"), [])
  out = capsys.readouterr().out
  assert "LangGloss:" in out
  assert tmp_path / "generated.gloss" in written
  npz = np.load(tmp_path / "generated.npz")
  assert str(npz["text"][0]) == prompt
  gloss_line = (tmp_path / "generated.gloss").read_text(encoding="utf-8")
  assert gloss_line.strip() == str(npz["lang_gloss"][0]).strip()
  with pytest.raises(gen.GenerateError, match="pass --prompt"):
    gen.generate_cli(_args(p2lg_workdir, tmp_path, text="hello", lang="ASL"),
                     [])


def test_lang_of_gloss():
  assert gen.lang_of_gloss("ASL A ASL B GSL C") == "ASL"
  assert gen.lang_of_gloss("no tags here") == ""


def test_config_json_is_unchanged_by_loading(mlsf_workdir):
  before = json.loads((mlsf_workdir / "config.json").read_text())
  gen.load_workdir(mlsf_workdir, ["generate.max_frames=32"])
  assert json.loads((mlsf_workdir / "config.json").read_text()) == before


# --------------------------------------------------------------------------
# The model-free backends: a workdir with config.json and assets/ only.


@pytest.fixture(scope="module")
def baseline_workdir(tmp_path_factory):
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  cfg = config_lib.load_config("experiments/mlsf.py:smoke",
                               [f"data.data_dir={data_dir}"])
  path = datasets.dataset_dir("synth_sign", "tiny", data_dir)
  workdir = tmp_path_factory.mktemp("untrained")
  (workdir / "config.json").write_text(config_lib.to_json(cfg))
  workdir_lib.write_assets(workdir, cfg, path, datasets.load_tokenizer(
      path=path), datasets.load_stats(path=path))
  return workdir, path


def _citation_words(path, lang, n):
  """(citation text, gloss) of n one-word isolated train signs."""
  src = datasets.data_source(path, "train")
  words = []
  for i in range(len(src)):
    r = src[i]
    if (r["lang"] == lang.encode() and len(r["gloss"].split()) == 1
        and " " not in r["text"].decode()):
      words.append((r["text"].decode(), r["gloss"].decode()))
  return list(dict.fromkeys(words))[:n]


def test_lexicon_backend_writes_a_readable_pose(baseline_workdir, tmp_path,
                                                capsys):
  workdir, path = baseline_workdir
  (w1, g1), (w2, g2) = _citation_words(path, "ASL", 2)
  out = tmp_path / "lex.pose"
  written = gen.generate_cli(_args(
      workdir, out, lang="ASL", text=f"{w1.upper()} zzzunknown {w2}",
      backend="lexicon", length=None), [])
  assert written == [out]
  printed = capsys.readouterr().out
  assert (f"0000_ASL\tlexicon: 2 signs (ASL {g1} ASL {g2}); skipped 1 "
          "unknown: zzzunknown") in printed
  pose, fps = pose_io.read_internal_pose(out)
  assert fps == gen.FPS and pose.shape[1:] == (skeleton.NUM_JOINTS, 3)
  assert np.isfinite(pose).all() and len(pose) > 10
  # The same signs asked for by gloss: the same pose.
  by_gloss = gen.generate_baseline(workdir, [gen.Request(
      f"ASL {g1} ASL {g2}", "ASL", "--gloss", kind="gloss")], "lexicon")[0]
  np.testing.assert_allclose(by_gloss.pose_TxJx3, pose, atol=1e-4)
  assert by_gloss.skipped == () and by_gloss.timing == "lexicon"


def test_lexicon_backend_nothing_known_is_an_error(baseline_workdir, tmp_path):
  workdir, _ = baseline_workdir
  with pytest.raises(gen.GenerateError, match="--text: no word of"):
    gen.generate_cli(_args(workdir, tmp_path / "a.pose", lang="ASL",
                           text="zzz qqq", backend="lexicon", length=None), [])
  with pytest.raises(gen.GenerateError, match="--gloss: none of the 1"):
    gen.generate_cli(_args(workdir, tmp_path / "a.pose", lang="ASL",
                           gloss="NO-SUCH", backend="lexicon", length=None),
                     [])
  assert not (tmp_path / "a.pose").exists()


def test_retrieval_backend_and_argument_errors(baseline_workdir, tmp_path):
  workdir, _ = baseline_workdir
  written = gen.generate_cli(_args(
      workdir, tmp_path / "r.npz", lang="GSL", text="Die Mutter isst.",
      backend="retrieval", length=None), [])
  npz = np.load(written[0])
  assert str(npz["timing"]) == "retrieval" and str(npz["lang"][0]) == "GSL"
  for kw, message in (
      (dict(backend="lexicon", length="counter"), "--length sets"),
      (dict(backend="lexicon", lang=""), "no sign language given"),
      (dict(backend="retrieval", gloss="A"), "retrieval matches texts"),
      (dict(backend="model", gloss="A"), "--gloss needs --backend lexicon"),
      (dict(backend="guess"), "--backend must be one of")):
    args = dict(lang="ASL", text="hello", length=None)
    args.update(kw)
    if "gloss" in kw:
      args["text"] = ""
    with pytest.raises(gen.GenerateError, match=message):
      gen.generate_cli(_args(workdir, tmp_path / "x.pose", **args), [])


def test_cli_parses_backend_and_gloss():
  from signllm_jax import cli
  args = cli.build_parser().parse_args(
      ["generate", "--workdir", "w", "--backend", "lexicon", "--gloss",
       "ASL A", "--lang", "ASL"])
  assert args.backend == "lexicon" and args.gloss == "ASL A"
  assert cli.build_parser().parse_args(
      ["generate", "--workdir", "w"]).backend == "model"


def test_lexicon_backend_reads_stage1_glosses(p2lg_workdir, tmp_path, capsys,
                                              monkeypatch):
  info = json.loads((p2lg_workdir / "assets" / "dataset.json").read_text())
  (_, g1), (_, g2) = _citation_words(info["path"], "GSL", 2)
  tok = gen.load_workdir(p2lg_workdir).tokenizer
  row = [tok.bos_id] + tok.encode(f"GSL {g1} GSL NOPE GSL {g2}") + [
      tok.eos_id]
  decoded = tok.decode(row)
  # A smoke model's stage 1 is noise: stand in for it with a known output.
  monkeypatch.setattr(gen, "decode_lang_gloss",
                      lambda loaded, batch: np.array([row] * len(
                          batch["prompt"])))
  gen.generate_cli(_args(p2lg_workdir, tmp_path / "p.pose",
                         prompt="Would you sign 'x'?", backend="lexicon",
                         length=None), [])
  out = capsys.readouterr().out
  assert f"--prompt\tLangGloss (stage 1): {decoded}" in out
  assert f"0000_GSL\tlexicon: 2 signs (GSL {g1} GSL {g2}); skipped 1" in out
  pose, _ = pose_io.read_internal_pose(tmp_path / "p.pose")
  assert len(pose) > 10


def test_sampling_settings_a_model_cannot_take_are_clear_errors(mlsf_workdir):
  with pytest.raises(gen.GenerateError, match="regresses frames"):
    gen.load_workdir(mlsf_workdir, ["generate.temperature=0.8"])
  with pytest.raises(gen.GenerateError, match="must be >= 0"):
    gen.load_workdir(mlsf_workdir, ["generate.top_k=-1"])
  assert gen.load_workdir(mlsf_workdir, ["generate.temperature=0.0"])
