"""Tests of the synth_sign TFDS builder (built once per session on tiny)."""

import atexit
import importlib
import itertools
import json
import os
import pathlib
import shutil
import tempfile

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core import shuffle
from tfds_builders.synth_sign import synth_sign_dataset_builder as ssb

from signllm_jax import languages
from signllm_jax.data import datasets
from signllm_jax.data import normalize
from signllm_jax.data import tokenizer as tokenizer_lib

# pytest may import this module twice (as a test file and from
# test_pipeline.py); the environment is shared by both copies.
_BUILT_ENV = "SIGNLLM_TEST_SYNTH_SIGN_TINY"


def _corpus():
  return importlib.import_module("signllm_jax.data.synth.corpus")


def build_tiny() -> pathlib.Path:
  """Builds synth_sign/tiny once per process into a temporary directory."""
  built = os.environ.get(_BUILT_ENV)
  if not built or not pathlib.Path(built, "dataset_info.json").exists():
    root = pathlib.Path(tempfile.mkdtemp(prefix="synth_sign_tiny_"))
    atexit.register(shutil.rmtree, root, True)
    built = os.fspath(datasets.build_dataset(
        "synth_sign", "tiny", data_dir=root, progress=False))
    os.environ[_BUILT_ENV] = built
  return pathlib.Path(built)


@pytest.fixture(scope="module")
def tiny_dir():
  return build_tiny()


def test_layout_and_side_files(tiny_dir):
  assert tiny_dir == datasets.dataset_dir(
      "synth_sign", "tiny", tiny_dir.parents[2])
  for f in ("tokenizer.model", "metadata.json", "train_index.npz",
            "dev_index.npz", "test_index.npz"):
    assert (tiny_dir / f).exists(), f
  assert list(tiny_dir.glob("*.array_record-*"))


def test_counts_match_the_corpus(tiny_dir):
  corpus = _corpus()
  for split in ("train", "dev", "test"):
    src = tfds.data_source("synth_sign/tiny", split=split,
                           data_dir=tiny_dir.parents[2])
    assert len(src) == corpus.num_examples(
        "tiny", split, languages.LANG_CODES) > 0


def test_features_and_dtypes(tiny_dir):
  src = datasets.data_source(tiny_dir, "train")
  ex = src[0]
  for k in ("id", "lang", "text", "gloss", "lang_gloss", "prompt"):
    assert isinstance(ex[k], bytes), k
  assert ex["pose"].dtype == np.float32 and ex["pose"].shape[1:] == (50, 3)
  assert ex["spans"].dtype == np.int32 and ex["spans"].shape[1:] == (2,)
  assert ex["sign_ids"].dtype == np.int32 and ex["sign_ids"].ndim == 1
  assert ex["spans"].shape[0] == ex["sign_ids"].shape[0]
  assert int(ex["signer"]) >= -1
  assert ex["lang"].decode() in languages.LANG_CODES


def test_records_follow_generation_order_and_index(tiny_dir):
  corpus = _corpus()
  src = datasets.data_source(tiny_dir, "dev")
  with np.load(tiny_dir / "dev_index.npz") as z:
    ids, lang, frames = z["id"], z["lang"], z["num_frames"]
  for i, ex in enumerate(corpus.generate_split("tiny", "dev")):
    rec = src[i]
    assert rec["id"].decode() == ex["id"] == ids[i]
    assert languages.LANG_CODES[lang[i]] == ex["lang"]
    assert frames[i] == rec["pose"].shape[0]
    np.testing.assert_array_equal(rec["pose"], ex["pose"])


def test_metadata_stats_and_tokenizer(tiny_dir):
  meta = json.loads((tiny_dir / "metadata.json").read_text())
  assert meta["pose_convention"]["name"] == "internal"
  assert meta["pose_convention"]["divisor"] == 1.0
  stats = datasets.load_stats(path=tiny_dir)
  src = datasets.data_source(tiny_dir, "train")
  expected = normalize.compute_stats(src[i]["pose"] for i in range(len(src)))
  np.testing.assert_allclose(stats.mean_Jx3, expected.mean_Jx3, atol=1e-5)
  np.testing.assert_allclose(stats.std, expected.std, rtol=1e-5)
  # The builder info read back from disk carries the same metadata.
  info = tfds.builder_from_directory(str(tiny_dir)).info
  assert info.metadata["stats"]["std"] == pytest.approx(stats.std)
  tok = datasets.load_tokenizer(path=tiny_dir)
  assert tok.vocab_size == meta["tokenizer_vocab_size"]
  for i in range(min(len(src), 20)):
    for k in ("text", "prompt", "lang_gloss"):
      s = src[i][k].decode()
      ids = tok.encode(s)
      assert tokenizer_lib.UNK_ID not in ids
      assert tok.decode(ids) == s
  lang = src[0]["lang"].decode()
  assert tok.lang_tag_id(lang) in tok.encode(src[0]["lang_gloss"].decode())


def test_spilling_to_disk_keeps_generation_order(tiny_dir, tmp_path,
                                                 monkeypatch):
  # Large splits exceed TFDS's in-memory buffer and spill to bucket files;
  # that path must work without TensorFlow and keep record i = example i.
  monkeypatch.setattr(shuffle, "MAX_MEM_BUFFER_SIZE", 10_000)
  corpus = _corpus()
  n = 40  # the first examples of each split keep this test fast

  class Prefix:
    @staticmethod
    def num_examples(size, split, langs):
      return min(n, corpus.num_examples(size, split, langs))

    @staticmethod
    def generate_split(size, split, **kw):
      return itertools.islice(corpus.generate_split(size, split, **kw), n)

  monkeypatch.setattr(ssb, "_corpus", lambda: Prefix)
  path = datasets.build_dataset("synth_sign", "tiny", data_dir=tmp_path,
                                progress=False)
  for split in ("train", "dev"):
    spilled = datasets.data_source(path, split)
    assert len(spilled) == n
    with np.load(tiny_dir / f"{split}_index.npz") as z:
      ids = z["id"][:n]
    assert [spilled[i]["id"].decode() for i in range(n)] == list(ids)


def test_unknown_dataset_and_missing_dir(tmp_path):
  with pytest.raises(ValueError, match="unknown dataset"):
    datasets.build_dataset("nope", "tiny", data_dir=tmp_path)
  with pytest.raises(FileNotFoundError, match="signllm data build"):
    datasets.dataset_dir("synth_sign", "small", tmp_path)
