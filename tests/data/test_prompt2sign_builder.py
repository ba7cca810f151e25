"""Tests for the folder-style prompt2sign TFDS builder on generated fixtures."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from signllm_jax import languages
from signllm_jax.data import dwpose
from signllm_jax.data import errors
from signllm_jax.data import skels
from tfds_builders import prompt2sign
from tfds_builders.prompt2sign import prompt2sign_dataset_builder as p2s


def _records(n, seed=0, gloss=None):
  rng = np.random.default_rng(seed)
  return [skels.Record(
      id=f"clip{i}", text=f"la phrase numéro {i} ?",
      pose=rng.uniform(-1, 1, (2 + i, 50, 3)).astype(np.float32),
      gloss=None if gloss is None else f"{gloss}{i} AUSSI")
          for i in range(n)]


def _read(data_dir, config, split):
  source = tfds.data_source(f"prompt2sign/{config}", data_dir=data_dir,
                            split=split)
  return [source[i] for i in range(len(source))]


def test_configs():
  names = [c.name for c in prompt2sign.Builder.BUILDER_CONFIGS]
  assert len(names) == 2 * len(languages.LANG_CODES) + 2 == 18
  assert {"multi_v1", "multi_dwpose"} <= set(names)
  assert all("-" not in n for n in names)
  assert prompt2sign.config_name("LSF-CH", "v1") == "lsf_ch_v1"
  assert prompt2sign.config_name("LIS-CH", "dwpose") == "lis_ch_dwpose"
  with pytest.raises(ValueError, match="unknown sign language"):
    prompt2sign.config_name("BSL", "v1")
  with pytest.raises(ValueError, match="variant"):
    prompt2sign.config_name("ASL", "v2")


def test_build_per_language_folder(tmp_path):
  manual = tmp_path / "manual"
  records = _records(3)
  skels.write_split(manual / "LSF-CH", "train", records,
                    convention="prompt2sign")
  skels.write_split(manual / "LSF-CH", "test", _records(1, 5),
                    convention="prompt2sign")
  skels.write_split(manual / "ASL", "train", _records(2, 9),
                    convention="prompt2sign")  # another language: ignored
  builder = prompt2sign.build("LSF-CH", manual_dir=manual,
                              data_dir=tmp_path / "data")
  assert builder.builder_config.name == "lsf_ch_v1"
  train = _read(tmp_path / "data", "lsf_ch_v1", "train")
  assert len(train) == 3
  assert len(_read(tmp_path / "data", "lsf_ch_v1", "test")) == 1
  for record, ex in zip(records, train):
    assert ex["id"].decode() == record.id
    assert ex["lang"] == b"LSF-CH"
    assert ex["text"].decode() == record.text
    assert ex["gloss"] == b""
    # No glosses: the LangGloss tags the words of the text.
    assert ex["lang_gloss"].decode() == " ".join(
        f"LSF-CH {w}" for w in record.text.split())
    assert record.text in ex["prompt"].decode()
    assert ex["pose"].dtype == np.float32
    np.testing.assert_allclose(ex["pose"], record.pose, atol=5e-5)
    assert ex["spans"].shape == (0, 2) and ex["spans"].dtype == np.int32
    assert ex["sign_ids"].shape == (0,) and ex["sign_ids"].dtype == np.int32
    assert ex["signer"] == -1
  meta = builder.info.metadata
  assert meta["convention"] == "prompt2sign" and meta["divisor"] == 9.0
  assert meta["neck_centred"] is False and meta["num_skipped"] == 0
  assert meta["splits"]["train"]["num_examples"] == 3


def test_build_flat_folder_pt_with_gloss(tmp_path):
  records = [skels.Record(r.id, r.text, skels.neck_centre(r.pose), r.gloss)
             for r in _records(2, gloss="WETTER")]
  skels.write_split(tmp_path / "m", "dev", records, convention="pt")
  builder = prompt2sign.build("gsl_v1", manual_dir=tmp_path / "m",
                              data_dir=tmp_path / "d")
  (ex, _) = _read(tmp_path / "d", "gsl_v1", "dev")
  assert ex["gloss"] == b"WETTER0 AUSSI"
  assert ex["lang_gloss"] == b"GSL WETTER0 GSL AUSSI"
  meta = builder.info.metadata
  assert (meta["convention"], meta["divisor"], meta["neck_centred"]) == (
      "pt", 3.0, True)
  # Prompts are seeded: the same record gives the same prompt.
  again = p2s.make_example(records[0], "GSL", "dev")
  assert again["prompt"] == ex["prompt"].decode()


def test_bad_example_fails_or_is_skipped(tmp_path):
  manual = tmp_path / "m"
  skels.write_split(manual, "train", _records(3), convention="prompt2sign")
  lines = (manual / "train.skels").read_text().splitlines()
  lines[1] = lines[1] + " 0.5"
  (manual / "train.skels").write_text("\n".join(lines) + "\n")
  with pytest.raises(errors.FormatError, match="train.skels, line 2"):
    prompt2sign.build("asl_v1", manual_dir=manual, data_dir=tmp_path / "a")
  builder = prompt2sign.build("asl_v1", manual_dir=manual,
                              data_dir=tmp_path / "b", skip_bad=True)
  assert [e["id"] for e in _read(tmp_path / "b", "asl_v1", "train")] == [
      b"clip0", b"clip2"]
  meta = builder.info.metadata
  assert meta["num_skipped"] == 1
  (skipped,) = meta["skipped"]
  assert (skipped["split"], skipped["line"], skipped["id"]) == (
      "train", 2, "clip1")
  assert "not a multiple of 151" in skipped["reason"]
  # The metadata is stored with the dataset.
  reloaded = prompt2sign.Builder(config="asl_v1", data_dir=tmp_path / "b")
  assert reloaded.info.metadata["skipped"][0]["line"] == 2


def test_build_dwpose_variant(tmp_path):
  rng = np.random.default_rng(0)
  frames = np.round(rng.uniform(0, 1, (4, dwpose.FRAME_DIM)), 8)
  frames[:, dwpose.BODY_SCORE] = 1.0
  frames[:, dwpose.HAND_SCORE] = 1.0
  frames[:, -1] = dwpose.counter(4)
  dwpose.write_raw_split(tmp_path / "m" / "KSL", "train",
                         [dwpose.RawRecord("k0", "안녕하세요", frames)])
  builder = prompt2sign.build("ksl_dwpose", manual_dir=tmp_path / "m",
                              data_dir=tmp_path / "d")
  (ex,) = _read(tmp_path / "d", "ksl_dwpose", "train")
  np.testing.assert_allclose(ex["pose"], dwpose.to_internal(frames))
  assert ex["lang_gloss"].decode() == "KSL 안녕하세요"
  assert builder.info.metadata["convention"] == "dwpose"
  assert builder.info.metadata["divisor"] == 1.0


def test_build_errors(tmp_path):
  with pytest.raises(ValueError, match="unknown prompt2sign config"):
    prompt2sign.build("xyz", manual_dir=tmp_path, data_dir=tmp_path)
  with pytest.raises(FileNotFoundError):
    prompt2sign.build("asl_v1", manual_dir=tmp_path / "none",
                      data_dir=tmp_path)
  (tmp_path / "empty").mkdir()
  with pytest.raises(errors.FormatError, match="no {train,dev,test}.skels"):
    prompt2sign.build("asl_v1", manual_dir=tmp_path / "empty",
                      data_dir=tmp_path / "d")
