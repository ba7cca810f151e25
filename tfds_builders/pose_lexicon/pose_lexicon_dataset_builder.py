"""pose_lexicon: `.pose` files + a spoken-to-signed lexicon index, as TFDS.

Build from Python (the `tfds build` CLI and `tfds.load` need TensorFlow):

  builder = build(manual_dir=M, data_dir=D)  # M holds index.csv
  source = tfds.data_source("pose_lexicon", data_dir=D, split="train")

Rows are read one at a time (`signllm_jax.data.pose_index`); every row is an
example or a skip listed, with its reason, in the metadata, and the build
checks read + skipped == rows. Layout, features, metadata: README.md.
"""

import collections
import csv
import dataclasses
import os
import pathlib

import tensorflow_datasets as tfds

from tfds_builders import features
from tfds_builders import streaming
from tfds_builders.prompt2sign import prompt2sign_dataset_builder as p2s

from signllm_jax.data import pose_index


@dataclasses.dataclass(eq=False)
class PoseLexiconConfig(tfds.core.BuilderConfig):
  index_file: str = pose_index.INDEX_FILE


def _split_rows(index_csv: pathlib.Path) -> dict[str, int]:
  """Rows per split (one cheap pass over the CSV): the keys' spread."""
  counts = collections.Counter()
  with index_csv.open(newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
      counts[(row.get("split") or "train").strip()] += 1
  return counts


class Builder(tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for a local `.pose` lexicon (manual_dir)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [PoseLexiconConfig(
      name="default", description="index.csv in the spoken-to-signed "
      "lexicon layout, paths relative to it.")]
  DEFAULT_CONFIG_NAME = "default"
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put index.csv (columns path, spoken_language, signed_language, start, end,
  words, glosses[, priority][, split]) in manual_dir, with the .pose files
  at the paths it names (relative to manual_dir).
  """

  def __init__(self, *, lang_map=None, strict: bool = False,
               buffer_bytes: int = streaming.DEFAULT_BUFFER_BYTES, **kwargs):
    self.lang_map = dict(lang_map or pose_index.SIGNED_LANGUAGES)
    self.strict = strict  # raise on the first bad row instead of skipping
    self.buffer_bytes = buffer_bytes
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=features.example_features(),
        supervised_keys=None,
        disable_shuffling=True,  # record i = the i-th read row of its split
        metadata=tfds.core.MetadataDict(),
    )

  def _download_and_prepare(self, dl_manager, download_config=None):
    with streaming.bounded_writer(self.buffer_bytes):
      return super()._download_and_prepare(
          dl_manager=dl_manager, download_config=download_config)

  def _split_generators(self, dl_manager):
    index_csv = pathlib.Path(dl_manager.manual_dir) / (
        self.builder_config.index_file)
    pose_index.check_index(index_csv)  # before TFDS opens any split
    rows = _split_rows(index_csv)
    meta = self.info.metadata
    meta["index"] = os.fspath(index_csv)
    meta["lang_map"] = self.lang_map
    meta["splits"] = {}
    meta["pose_convention"] = {
        "name": "internal", "divisor": 1.0, "missing": "NaN",
        "units": "as the .pose files store them (pixels or normalised)",
        "counter": "not stored; internal counter of frame i of T is (i+1)/T"}
    return {s: self._generate_examples(index_csv, s, n)
            for s, n in rows.items()}

  def _generate_examples(self, index_csv, split, num_rows):
    report = pose_index.IndexReport()
    items = pose_index.iter_index(
        index_csv, split=split, lang_map=self.lang_map,
        on_error="raise" if self.strict else "skip", report=report)
    for n, item in enumerate(items):
      if isinstance(item, pose_index.Clip):
        yield streaming.spread_key(n, num_rows), p2s.make_example(
            item.record, item.lang, split)
    if report.rows != num_rows:
      raise RuntimeError(f"{index_csv} {split}: {report.rows} rows read, "
                         f"{num_rows} counted (did the file change?)")
    self.info.metadata["splits"][split] = report.to_dict()


def build(*, manual_dir: str | os.PathLike, data_dir: str | os.PathLike,
          lang_map=None, strict: bool = False,
          overwrite: bool = False) -> Builder:
  """Builds `manual_dir/index.csv` as array_record; returns the builder."""
  index_csv = pathlib.Path(manual_dir) / pose_index.INDEX_FILE
  if not index_csv.is_file():
    raise FileNotFoundError(f"no index {index_csv} (see the pose_lexicon "
                            "README for the layout)")
  builder = Builder(config="default", data_dir=os.fspath(data_dir),
                    lang_map=lang_map, strict=strict)
  mode = (tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS if overwrite else
          tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
  builder.download_and_prepare(
      file_format="array_record",
      download_config=tfds.download.DownloadConfig(
          manual_dir=os.fspath(manual_dir), download_mode=mode))
  return builder
