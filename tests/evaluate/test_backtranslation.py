"""The back-translator trained by the one trainer, and the evaluation seam
(`evaluate.backtranslation.load` / `Translator.translate`)."""

import json
import pathlib
import shutil

import numpy as np
import pytest

from signllm_jax import config as config_lib
from signllm_jax import metrics_writer
from signllm_jax.data import datasets
from signllm_jax.data import tokenizer as tokenizer_lib
from signllm_jax.evaluate import backtranslation as bt
from tests import trained

SMOKE_BT = "experiments/backtranslation.py:smoke"
COMMAND = "signllm train --config experiments/backtranslation.py:cpu"


@pytest.fixture(scope="session")
def bt_workdir(tmp_path_factory):
  return trained.trained_workdir(tmp_path_factory, SMOKE_BT)


@pytest.fixture(scope="session")
def tok(tmp_path_factory):
  return datasets.load_tokenizer(
      "synth_sign", "tiny", data_dir=trained.tiny_data_dir(tmp_path_factory))


@pytest.fixture(scope="module")
def translator(bt_workdir, tok):
  return bt.load(bt_workdir, tokenizer=tok)


def _train_records(workdir):
  return {r["step"]: r for r in metrics_writer.read_jsonl(
      pathlib.Path(workdir) / "metrics.jsonl") if "train/loss" in r}


def test_trainer_runs_the_backtranslate_mode_and_learns(bt_workdir, tok):
  cfg = config_lib.from_json((bt_workdir / "config.json").read_text())
  assert cfg.model.mode == "backtranslate" and cfg.model.variant == "smoke"
  records = _train_records(bt_workdir)
  assert sorted(records) == [2, 4, 6]
  first, last = records[2], records[6]
  # Untrained: about log(V) per token. Six Adam steps (lr 3e-3) on fresh
  # mixed-language batches lower it at every logged step and learn the
  # end-of-sentence and frequent tokens (accuracy 0.05, 0.14, 0.11 on tiny
  # 1.0.0; 0.059, 0.065, 0.086 on 1.1.0, whose tokenizer differs: each
  # value is one batch's, so only the trend is asserted).
  assert first["train/loss"] > 0.9 * np.log(tok.vocab_size)
  losses = [records[s]["train/loss"] for s in (2, 4, 6)]
  assert losses == sorted(losses, reverse=True), losses
  assert last["train/loss"] < first["train/loss"] - 0.2, losses
  accuracy = [records[s]["train/token_accuracy"] for s in (2, 4, 6)]
  assert accuracy[0] + 0.01 < accuracy[-1] <= 1.0, accuracy
  assert last["train/text_xent"] == pytest.approx(last["train/loss"])


def test_load_and_translate(translator, tok):
  assert translator.name.startswith("back-translator ")
  assert translator.name.endswith("(step 6)")
  assert translator.tokenizer == tok
  rng = np.random.default_rng(0)
  a = rng.normal(size=(10, 151)).astype(np.float32)
  b = rng.normal(size=(40, 151)).astype(np.float32)
  texts = translator.translate([a, b])
  assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
  # Rows are independent of their batch-mates and of the filler rows.
  assert translator.translate([b]) == texts[1:]
  assert translator.translate([a, b, a]) == texts + texts[:1]
  assert translator.translate([]) == []
  with pytest.raises(ValueError, match=r"frames_list\[1\]"):
    translator.translate([a, np.zeros((5, 150), np.float32)])


def test_longer_sequences_are_cut_to_the_trained_frames(translator):
  rng = np.random.default_rng(1)
  long = rng.normal(size=(translator.max_frames + 30, 151)).astype(
      np.float32)
  assert translator.translate([long]) == translator.translate(
      [long[:translator.max_frames]])


def test_missing_and_wrong_workdirs_say_how_to_train(tmp_path, bt_workdir):
  for where, problem in [("", "no back-translator given"),
                         (tmp_path / "nope", "no such folder"),
                         (tmp_path, "no config.json")]:
    with pytest.raises(bt.BackTranslationError, match=problem) as e:
      bt.load(where, tokenizer=None)
    assert COMMAND in str(e.value)
  mlsf = tmp_path / "mlsf"
  mlsf.mkdir()
  (mlsf / "config.json").write_text(config_lib.to_json(
      config_lib.load_config("experiments/mlsf.py:smoke")))
  with pytest.raises(bt.BackTranslationError,
                     match="model.mode='mlsf' workdir, not a back-trans"):
    bt.load(mlsf, tokenizer=None)
  unsaved = tmp_path / "unsaved"
  unsaved.mkdir()
  shutil.copy(bt_workdir / "config.json", unsaved / "config.json")
  with pytest.raises(bt.BackTranslationError, match="no checkpoint") as e:
    bt.load(unsaved, tokenizer=None)
  assert f"--workdir {unsaved}" in str(e.value)


def test_another_tokenizer_is_refused(bt_workdir):
  other = tokenizer_lib.train_tokenizer(
      [f"sentence number {i} of another corpus" for i in range(50)],
      vocab_size=320)
  data = json.loads((bt_workdir / "config.json").read_text())["data"]
  with pytest.raises(bt.BackTranslationError,
                     match="trained with another tokenizer") as e:
    bt.load(bt_workdir, tokenizer=other,
            data=config_lib.from_json(json.dumps(data)))
  message = str(e.value)
  assert COMMAND in message
  assert (f"--config.data.name=synth_sign --config.data.config=tiny "
          f"--config.data.data_dir={data['data_dir']}") in message
