"""prompt2sign: the user's local Prompt2Sign data as an array_record dataset.

Build from Python (the `tfds build` CLI and `tfds.load` need TensorFlow):

  builder = build("gsl_v1", manual_dir=M, data_dir=D)
  source = tfds.data_source("prompt2sign/gsl_v1", data_dir=D, split="train")

Configs, folder layout, features and metadata: README.md.
"""

import dataclasses
import os
import pathlib
import zlib

import numpy as np
import tensorflow_datasets as tfds

from tfds_builders import features

from signllm_jax import languages
from signllm_jax import skeleton
from signllm_jax.data import dwpose
from signllm_jax.data import prompts
from signllm_jax.data import skels

SPLITS = ("train", "dev", "test")
VARIANTS = ("v1", "dwpose")
PROMPT_SEED = 0


def config_name(lang: str, variant: str) -> str:
  """"LSF-CH", "v1" -> "lsf_ch_v1" (TFDS config names cannot hold '-')."""
  languages.lang_index(lang)
  if variant not in VARIANTS:
    raise ValueError(f"unknown pose variant {variant!r}; known: {VARIANTS}")
  return f"{lang.lower().replace('-', '_')}_{variant}"


@dataclasses.dataclass(eq=False)
class Prompt2SignConfig(tfds.core.BuilderConfig):
  lang: str = "ASL"
  variant: str = "v1"


def _configs():
  return [
      Prompt2SignConfig(
          name=config_name(lang, variant), lang=lang, variant=variant,
          description=f"{languages.BY_CODE[lang].name}, "
          f"{'151-value .skels' if variant == 'v1' else 'DWPose 385-value'}"
          " poses.")
      for lang in languages.LANG_CODES for variant in VARIANTS
  ]


def source_dir(manual_dir: str | os.PathLike, lang: str) -> pathlib.Path:
  """`{manual_dir}/{LANG}` when it exists, else `manual_dir` itself."""
  manual_dir = pathlib.Path(manual_dir)
  per_lang = manual_dir / lang
  return per_lang if per_lang.is_dir() else manual_dir


def find_splits(directory: pathlib.Path) -> list[str]:
  found = [s for s in SPLITS if (directory / f"{s}.skels").is_file()]
  if not found:
    raise skels.FormatError(
        "no {train,dev,test}.skels here (see the prompt2sign README for the "
        f"layout); files: {sorted(p.name for p in directory.iterdir())[:20]}",
        path=directory)
  return found


def make_example(record: skels.Record, lang: str, split: str) -> dict:
  """A read record -> the example schema (prompt seeded by lang/split/id)."""
  gloss = record.gloss or ""
  tokens = gloss.split() if gloss.strip() else record.text.split()
  # Seeded per example, so a prompt does not depend on which lines were
  # skipped or on the order of reading.
  rng = np.random.default_rng(
      [PROMPT_SEED, zlib.crc32(f"{lang}/{split}/{record.id}".encode())])
  return {
      "id": record.id,
      "lang": lang,
      "text": record.text,
      "gloss": gloss,
      "lang_gloss": prompts.make_lang_gloss(lang, tokens),
      "prompt": prompts.make_prompt(record.text, lang, rng),
      "pose": np.asarray(record.pose, np.float32),
      "spans": np.zeros((0, 2), np.int32),
      "sign_ids": np.zeros((0,), np.int32),
      "signer": np.int32(-1),
  }


class Builder(tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for Prompt2Sign from a local folder (manual_dir)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = _configs()
  DEFAULT_CONFIG_NAME = "asl_v1"
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put the language's files in manual_dir, as
    {manual_dir}/{LANG}/{split}.skels .text .files [.gloss]
  or directly as {manual_dir}/{split}.skels ... (split: train, dev, test;
  LANG: ASL, GSL, DSGS, LSF-CH, LIS-CH, LSA, KSL, TSL). The v1 configs read
  151-value frames (Prompt2Sign or Progressive Transformers conventions), the
  dwpose configs 385-value DWPose frames.
  """

  def __init__(self, *, skip_bad: bool = False, **kwargs):
    # Skip (and list in the metadata) malformed examples instead of failing.
    self.skip_bad = skip_bad
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=features.example_features(),
        supervised_keys=None,
        # Record i of a split is line i of its files (minus skipped lines).
        disable_shuffling=True,
        metadata=tfds.core.MetadataDict(),
    )

  def _split_generators(self, dl_manager):
    cfg = self.builder_config
    directory = source_dir(dl_manager.manual_dir, cfg.lang)
    splits = find_splits(directory)
    meta = self.info.metadata
    meta["lang"] = cfg.lang
    meta["variant"] = cfg.variant
    meta["source_dir"] = os.fspath(directory)
    meta["splits"] = {}
    meta["num_skipped"] = 0
    meta["skipped"] = []
    return {s: self._generate_examples(directory, s) for s in splits}

  def _read(self, directory, split) -> skels.ReadResult:
    on_error = "skip" if self.skip_bad else "raise"
    if self.builder_config.variant == "dwpose":
      return dwpose.read_split(directory, split, on_error=on_error)
    return skels.read_split(directory, split, on_error=on_error)

  def _generate_examples(self, directory, split):
    cfg = self.builder_config
    result = self._read(directory, split)
    self._record_metadata(split, result)
    for key, record in enumerate(result.records):
      yield key, make_example(record, cfg.lang, split)

  def _record_metadata(self, split: str, result: skels.ReadResult):
    meta = self.info.metadata
    divisor = (1.0 if result.convention == dwpose.CONVENTION else
               skels.CONVENTIONS[result.convention].divisor
               if result.convention in skels.CONVENTIONS else None)
    skipped = [{"split": split, "line": s.line, "id": s.id,
                "reason": s.reason} for s in result.skipped]
    meta["splits"][split] = {
        "convention": result.convention, "divisor": divisor,
        "neck_centred": result.neck_centred,
        "num_examples": len(result.records), "num_lines": result.num_lines,
        "num_skipped": len(skipped)}
    meta["skipped"] = meta["skipped"] + skipped
    meta["num_skipped"] = len(meta["skipped"])
    known = {s["convention"] for s in meta["splits"].values()} - {"unknown"}
    meta["convention"] = known.pop() if len(known) == 1 else (
        "mixed" if known else "unknown")
    meta["divisor"] = (1.0 if meta["convention"] == dwpose.CONVENTION else
                       skels.CONVENTIONS[meta["convention"]].divisor
                       if meta["convention"] in skels.CONVENTIONS else None)
    meta["neck_centred"] = all(
        s["neck_centred"] for s in meta["splits"].values())
    meta["pose_convention"] = {
        "name": "internal", "divisor": 1.0, "missing": "NaN",
        "counter": "not stored; internal counter of frame i of T is (i+1)/T",
        "file_convention": meta["convention"],
        "file_divisor": meta["divisor"]}


def build(config: str, *, manual_dir: str | os.PathLike,
          data_dir: str | os.PathLike, skip_bad: bool = False,
          overwrite: bool = False) -> Builder:
  """Builds config (e.g. "gsl_v1" or "LSF-CH") as array_record; the CLI's entry.

  A sign language code alone selects its v1 config.
  """
  if config.upper() in languages.LANG_CODES:
    config = config_name(config.upper(), "v1")
  names = [c.name for c in Builder.BUILDER_CONFIGS]
  if config not in names:
    raise ValueError(f"unknown prompt2sign config {config!r}; known: "
                     f"{', '.join(names)}")
  if not pathlib.Path(manual_dir).is_dir():
    raise FileNotFoundError(f"manual_dir {manual_dir} is not a directory")
  # Fail with our message before TFDS's generic one about an empty folder.
  lang = next(c.lang for c in Builder.BUILDER_CONFIGS if c.name == config)
  find_splits(source_dir(manual_dir, lang))
  builder = Builder(config=config, data_dir=os.fspath(data_dir),
                    skip_bad=skip_bad)
  mode = (tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS if overwrite else
          tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
  builder.download_and_prepare(
      file_format="array_record",
      download_config=tfds.download.DownloadConfig(
          manual_dir=os.fspath(manual_dir), download_mode=mode))
  return builder
