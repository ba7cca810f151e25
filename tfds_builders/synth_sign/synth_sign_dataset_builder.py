"""synth_sign: the synthetic corpus as an array_record TFDS dataset.

Build from Python (the `tfds build` CLI needs TensorFlow):

  builder = Builder(config="tiny", data_dir=D)
  builder.download_and_prepare(file_format="array_record")

or `signllm data build synth_sign --config tiny`. Besides the records the
build writes `tokenizer.model` and `{split}_index.npz` into the dataset
directory and puts the pose convention and the train split's normalisation
statistics into the MetadataDict (`metadata.json`); see README.md.

Examples are streamed from the corpus generator (nothing is held in a list),
so `large` builds in bounded memory; its speed is bounded by the generator
and TFDS's single-process serialisation (see experiments/bench_pipeline.py).
"""

import contextlib
import dataclasses
import importlib.util
import types

import numpy as np
import tensorflow_datasets as tfds

from tfds_builders import features
from tensorflow_datasets.core import shuffle as tfds_shuffle

from signllm_jax import languages
from signllm_jax import skeleton
from signllm_jax.data import normalize
from signllm_jax.data import tokenizer as tokenizer_lib

SPLITS = ("train", "dev", "test")
TOKENIZER_FILE = "tokenizer.model"
INDEX_FILE = "{split}_index.npz"
POSE_CONVENTION = {
    "name": "internal",
    # Stored values are undivided 3D coordinates ("skeleton units"): a
    # Prompt2Sign file holds them divided by 9, a PT file divided by 3.
    "divisor": 1.0,
    "file_divisors": {"prompt2sign": 9.0, "pt": 3.0},
    "missing": "NaN",
    "counter": "not stored; internal counter of frame i of T is (i+1)/T",
    "neck_centred": False,
}


def _corpus():
  """The generator module (a function so tests can substitute a fake)."""
  # pylint: disable-next=g-import-not-at-top
  from signllm_jax.data.synth import corpus
  return corpus


@dataclasses.dataclass(eq=False)
class SynthSignConfig(tfds.core.BuilderConfig):
  """A corpus size plus the tokenizer settings."""
  size: str = "tiny"
  seed: int = 0
  vocab_size: int = 8000
  # Tokenizer training reads at most this many train examples (large: the
  # first ones of the stream; SentencePiece samples sentences anyway).
  tokenizer_max_examples: int = 200_000


class Builder(tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for the synthetic multilingual sign corpus."""

  VERSION = tfds.core.Version("1.1.0")
  RELEASE_NOTES = {
      "1.0.0": "Initial release.",
      "1.1.0": "Prompts: dev/test use held-out templates; half of the "
               "prompts name their sign language.",
  }
  BUILDER_CONFIGS = [
      SynthSignConfig(name="tiny", size="tiny", vocab_size=1000,
                      description="A few examples per language (tests)."),
      SynthSignConfig(name="small", size="small", vocab_size=4000,
                      description="Development runs."),
      SynthSignConfig(name="large", size="large", vocab_size=16000,
                      description="1M+ examples, streamed (throughput)."),
  ]
  DEFAULT_CONFIG_NAME = "tiny"

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=features.example_features(),
        supervised_keys=None,
        # Record i of a split is the i-th generated example (keys increase
        # in generation order), which the `{split}_index.npz` files rely on.
        disable_shuffling=True,
        metadata=tfds.core.MetadataDict(
            pose_convention=POSE_CONVENTION,
            tokenizer_file=TOKENIZER_FILE,
            index_file=INDEX_FILE,
        ),
    )

  def _download_and_prepare(self, dl_manager, download_config=None):
    with _local_gfile_for_shuffler():
      return super()._download_and_prepare(
          dl_manager=dl_manager, download_config=download_config)

  def _split_generators(self, dl_manager):
    del dl_manager  # nothing to download: the corpus is procedural
    cfg = self.builder_config
    tok = tokenizer_lib.train_tokenizer(
        self._tokenizer_sentences(), vocab_size=cfg.vocab_size)
    tok.save(self.data_path / TOKENIZER_FILE)
    self._tokenizer = tok
    self.info.metadata["tokenizer_vocab_size"] = tok.vocab_size
    self.info.metadata["corpus"] = {
        "size": cfg.size, "seed": cfg.seed,
        "langs": list(languages.LANG_CODES)}
    return {split: self._generate_examples(split) for split in SPLITS}

  def _tokenizer_sentences(self):
    cfg = self.builder_config
    for n, ex in enumerate(_corpus().generate_split(
        cfg.size, "train", seed=cfg.seed)):
      if n >= cfg.tokenizer_max_examples:
        break
      yield ex["text"]
      yield ex["prompt"]
      yield ex["lang_gloss"]

  def _generate_examples(self, split):
    cfg = self.builder_config
    tok = self._tokenizer
    stats = normalize.StatsAccumulator() if split == "train" else None
    index = {k: [] for k in ("lang", "num_frames", "text_len", "prompt_len",
                             "gloss_len", "id")}
    corpus = _corpus()
    total = int(corpus.num_examples(cfg.size, split, languages.LANG_CODES))
    # Keys spread evenly over [0, 2**128) in generation order: with
    # shuffling disabled TFDS sorts by key and spills to 1000 buckets by the
    # key's top bits; consecutive small keys would put a large split in one
    # bucket, which TFDS then reads back into memory whole.
    stride = 2**128 // max(total, 1)
    for n, ex in enumerate(corpus.generate_split(
        cfg.size, split, seed=cfg.seed)):
      if n >= total:
        raise ValueError(f"synth_sign {split}: the corpus generated more than"
                         f" num_examples() = {total} examples")
      ex = _check_example(ex, split, n)
      if stats is not None:
        stats.add(ex["pose"])
      index["lang"].append(languages.lang_index(ex["lang"]))
      index["num_frames"].append(ex["pose"].shape[0])
      index["text_len"].append(len(tok.encode(ex["text"])))
      index["prompt_len"].append(len(tok.encode(ex["prompt"])))
      index["gloss_len"].append(len(tok.encode(ex["lang_gloss"])))
      index["id"].append(ex["id"])
      yield n * stride, ex
    # Only reached when TFDS consumed the whole split; a partial build
    # (max_examples_per_split) leaves no index and readers rebuild it.
    np.savez(self.data_path / INDEX_FILE.format(split=split),
             lang=np.asarray(index["lang"], np.int32),
             num_frames=np.asarray(index["num_frames"], np.int32),
             text_len=np.asarray(index["text_len"], np.int32),
             prompt_len=np.asarray(index["prompt_len"], np.int32),
             gloss_len=np.asarray(index["gloss_len"], np.int32),
             id=np.asarray(index["id"], dtype=str))
    if stats is not None:
      self.info.metadata["stats"] = stats.result().to_dict()
      self.info.metadata["stats_split"] = split


class _ResourceExhaustedError(Exception):
  """Never raised; stands in for tf.errors.ResourceExhaustedError."""


@contextlib.contextmanager
def _local_gfile_for_shuffler():
  """Lets TFDS's shuffler spill to local disk without TensorFlow.

  A split whose serialised size passes TFDS's 1 GB in-memory buffer is
  spilled to temporary bucket files through `tf.io.gfile`, which fails
  when TensorFlow is not installed (checked with a lowered buffer size).
  The buckets are local temporary files, so plain `open` serves.
  """
  if importlib.util.find_spec("tensorflow") is not None:
    yield
    return
  import os  # pylint: disable=g-import-not-at-top
  gfile = types.SimpleNamespace(
      GFile=open, exists=os.path.exists, remove=os.remove)
  shim = types.SimpleNamespace(
      io=types.SimpleNamespace(gfile=gfile),
      errors=types.SimpleNamespace(
          ResourceExhaustedError=_ResourceExhaustedError))
  saved = tfds_shuffle.tf
  tfds_shuffle.tf = shim
  try:
    yield
  finally:
    tfds_shuffle.tf = saved


def _check_example(ex: dict, split: str, key: int) -> dict:
  """Validates one corpus example against the schema; clear errors."""
  where = f"synth_sign {split} example {key} (id {ex.get('id')!r})"
  missing = {"id", "lang", "text", "gloss", "lang_gloss", "prompt", "pose",
             "spans", "sign_ids", "signer"} - set(ex)
  if missing:
    raise ValueError(f"{where}: missing fields {sorted(missing)}")
  languages.lang_index(ex["lang"])
  pose = np.asarray(ex["pose"])
  if pose.dtype != np.float32 or pose.ndim != 3 or pose.shape[1:] != (
      skeleton.NUM_JOINTS, 3) or pose.shape[0] == 0:
    raise ValueError(f"{where}: pose must be float32 [T>0, 50, 3], got "
                     f"{pose.dtype} {pose.shape}")
  spans = np.asarray(ex["spans"], np.int32).reshape(-1, 2)
  sign_ids = np.asarray(ex["sign_ids"], np.int32).reshape(-1)
  if spans.shape[0] != sign_ids.shape[0]:
    raise ValueError(f"{where}: {spans.shape[0]} spans but "
                     f"{sign_ids.shape[0]} sign ids")
  return {**ex, "pose": pose, "spans": spans, "sign_ids": sign_ids,
          "signer": np.int32(ex["signer"])}
