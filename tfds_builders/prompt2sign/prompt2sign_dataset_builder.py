"""prompt2sign: the user's local Prompt2Sign data as an array_record dataset.

Build from Python (the `tfds build` CLI and `tfds.load` need TensorFlow):

  builder = build("gsl_v1", manual_dir=M, data_dir=D)
  source = tfds.data_source("prompt2sign/gsl_v1", data_dir=D, split="train")

Configs, folder layout, features and metadata: README.md.

Examples are streamed (one line of each source file in memory; the writer's
buffer bounded by `tfds_builders.streaming`). With `beam_runner` or
`beam_options`, `_generate_examples` returns a Beam PTransform over line
ranges instead (`beam_source.py`), so a build runs on any Beam runner.
"""

import dataclasses
import os
import pathlib
import zlib

import numpy as np
import tensorflow_datasets as tfds

from tfds_builders import features
from tfds_builders import streaming
from tfds_builders.prompt2sign import beam_source

from signllm_jax import languages
from signllm_jax import skeleton
from signllm_jax.data import dwpose
from signllm_jax.data import prompts
from signllm_jax.data import skels

SPLITS = ("train", "dev", "test")
VARIANTS = ("v1", "dwpose")
MULTI = "multi"  # the config over every language folder found
PROMPT_SEED = 0


def config_name(lang: str, variant: str) -> str:
  """"LSF-CH", "v1" -> "lsf_ch_v1" (TFDS config names cannot hold '-')."""
  if variant not in VARIANTS:
    raise ValueError(f"unknown pose variant {variant!r}; known: {VARIANTS}")
  if lang == MULTI:
    return f"{MULTI}_{variant}"
  languages.lang_index(lang)
  return f"{lang.lower().replace('-', '_')}_{variant}"


@dataclasses.dataclass(eq=False)
class Prompt2SignConfig(tfds.core.BuilderConfig):
  lang: str = "ASL"  # a code, or MULTI: every {manual_dir}/{LANG} folder
  variant: str = "v1"


def _configs():
  kinds = {"v1": "151-value .skels", "dwpose": "DWPose 385-value"}
  return [
      Prompt2SignConfig(
          name=config_name(lang, variant), lang=lang, variant=variant,
          description=f"{languages.BY_CODE[lang].name}, {kinds[variant]}"
          " poses.")
      for lang in languages.LANG_CODES for variant in VARIANTS
  ] + [
      Prompt2SignConfig(
          name=config_name(MULTI, variant), lang=MULTI, variant=variant,
          description="Every language folder of manual_dir in one dataset "
          f"(one tokenizer, language-homogeneous batches), {kinds[variant]}"
          " poses.")
      for variant in VARIANTS
  ]


def source_dir(manual_dir: str | os.PathLike, lang: str) -> pathlib.Path:
  """`{manual_dir}/{LANG}` when it exists, else `manual_dir` itself."""
  manual_dir = pathlib.Path(manual_dir)
  per_lang = manual_dir / lang
  return per_lang if per_lang.is_dir() else manual_dir


def language_dirs(manual_dir: str | os.PathLike, lang: str
                  ) -> dict[str, pathlib.Path]:
  """{code: folder} the config reads: one language, or every LANG folder."""
  if lang != MULTI:
    return {lang: source_dir(manual_dir, lang)}
  manual_dir = pathlib.Path(manual_dir)
  found = {c: manual_dir / c for c in languages.LANG_CODES
           if (manual_dir / c).is_dir()}
  if not found:
    raise skels.FormatError(
        "the multi configs need one folder per language, named by its code "
        f"({', '.join(languages.LANG_CODES)}); found "
        f"{sorted(p.name for p in manual_dir.iterdir())[:20]}",
        path=manual_dir)
  return found


def find_splits(directory: pathlib.Path) -> list[str]:
  found = [s for s in SPLITS if (directory / f"{s}.skels").is_file()]
  if not found:
    raise skels.FormatError(
        "no {train,dev,test}.skels here (see the prompt2sign README for the "
        f"layout); files: {sorted(p.name for p in directory.iterdir())[:20]}",
        path=directory)
  return found


def make_example(record: skels.Record, lang: str, split: str, *,
                 id_prefix: str = "") -> dict:
  """A read record -> the example schema (prompt seeded by lang/split/id)."""
  gloss = record.gloss or ""
  tokens = gloss.split() if gloss.strip() else record.text.split()
  # Seeded per example, so a prompt does not depend on which lines were
  # skipped or on the order of reading.
  rng = np.random.default_rng(
      [PROMPT_SEED, zlib.crc32(f"{lang}/{split}/{record.id}".encode())])
  return {
      "id": id_prefix + record.id,
      "lang": lang,
      "text": record.text,
      "gloss": gloss,
      "lang_gloss": prompts.make_lang_gloss(lang, tokens),
      "prompt": prompts.make_prompt(record.text, lang, rng, split=split),
      "pose": np.asarray(record.pose, np.float32),
      "spans": np.zeros((0, 2), np.int32),
      "sign_ids": np.zeros((0,), np.int32),
      "signer": np.int32(-1),
  }


class Builder(tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for Prompt2Sign from a local folder (manual_dir)."""

  VERSION = tfds.core.Version("1.2.0")
  RELEASE_NOTES = {
      "1.0.0": "Initial release.",
      "1.1.0": "Streaming and Beam builds; multi_v1/multi_dwpose configs.",
      "1.2.0": "Prompts: dev/test use held-out templates; half of the "
               "prompts name their sign language.",
  }
  BUILDER_CONFIGS = _configs()
  DEFAULT_CONFIG_NAME = "asl_v1"
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put the language's files in manual_dir, as
    {manual_dir}/{LANG}/{split}.skels .text .files [.gloss]
  or directly as {manual_dir}/{split}.skels ... (split: train, dev, test;
  LANG: ASL, GSL, DSGS, LSF-CH, LIS-CH, LSA, KSL, TSL). The v1 configs read
  151-value frames (Prompt2Sign or Progressive Transformers conventions), the
  dwpose configs 385-value DWPose frames. The multi configs read every
  {manual_dir}/{LANG} folder present.
  """

  def __init__(self, *, skip_bad: bool = False, use_beam: bool = False,
               lines_per_shard: int = 1000,
               buffer_bytes: int = streaming.DEFAULT_BUFFER_BYTES, **kwargs):
    # Skip (and list in the metadata) malformed examples instead of failing.
    self.skip_bad = skip_bad
    self.use_beam = use_beam
    self.lines_per_shard = lines_per_shard
    self.buffer_bytes = buffer_bytes
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=features.example_features(),
        supervised_keys=None,
        # Record i of a split is line i of its files (minus skipped lines);
        # a multi config takes the languages in languages.LANG_CODES order.
        disable_shuffling=True,
        metadata=tfds.core.MetadataDict(),
    )

  def _download_and_prepare(self, dl_manager, download_config=None):
    with streaming.bounded_writer(self.buffer_bytes):
      out = super()._download_and_prepare(
          dl_manager=dl_manager, download_config=download_config)
    if self.use_beam:
      # The pipeline has run: its per-line reports are complete now.
      for split, (reports_dir, langs) in self._beam_reports.items():
        self._record_metadata(split, beam_source.collect_reports(
            reports_dir, langs))
    return out

  def _split_generators(self, dl_manager):
    cfg = self.builder_config
    dirs = language_dirs(dl_manager.manual_dir, cfg.lang)
    by_split = {}
    for lang, directory in dirs.items():
      for split in find_splits(directory):
        by_split.setdefault(split, {})[lang] = directory
    meta = self.info.metadata
    meta["lang"] = cfg.lang
    meta["langs"] = list(dirs)
    meta["variant"] = cfg.variant
    meta["source_dir"] = os.fspath(
        dl_manager.manual_dir if cfg.lang == MULTI else next(iter(
            dirs.values())))
    meta["splits"] = {}
    meta["num_skipped"] = 0
    meta["skipped"] = []
    self._beam_reports = {}
    order = {s: i for i, s in enumerate(SPLITS)}
    return {s: self._generate_examples(by_split[s], s)
            for s in sorted(by_split, key=order.get)}

  def _iter_lang(self, directory, split, state):
    on_error = "skip" if self.skip_bad else "raise"
    if self.builder_config.variant == "dwpose":
      return dwpose.iter_split(directory, split, on_error=on_error,
                               state=state)
    return skels.iter_split(directory, split, on_error=on_error, state=state)

  def _generate_examples(self, dirs: dict[str, pathlib.Path], split: str):
    cfg = self.builder_config
    prefix = cfg.lang == MULTI
    plan = beam_source.plan(dirs, split, variant=cfg.variant,
                            lines_per_shard=self.lines_per_shard,
                            skip_bad=self.skip_bad, full=self.use_beam)
    if self.use_beam:
      reports_dir = self.data_path.parent / f".beam_reports-{split}"
      self._beam_reports[split] = (reports_dir, list(dirs))
      return beam_source.transform(plan, split, reports_dir,
                                   id_prefix=prefix)
    return self._stream(dirs, split, plan.total_lines, prefix)

  def _stream(self, dirs, split, total_lines, prefix):
    offset, results = 0, {}
    for lang, directory in dirs.items():
      state = skels.SplitState()
      for n, item in enumerate(self._iter_lang(directory, split, state)):
        if isinstance(item, skels.Record):
          yield streaming.spread_key(offset + n, total_lines), make_example(
              item, lang, split, id_prefix=f"{lang}/" if prefix else "")
      offset += state.num_lines
      results[lang] = beam_source.LangResult.of(state, self.builder_config
                                                .variant)
    # Reached only when TFDS consumed the whole split.
    self._record_metadata(split, results)

  def _record_metadata(self, split: str,
                       results: dict[str, "beam_source.LangResult"]):
    meta = self.info.metadata
    skipped = [{"split": split, "lang": lang, "line": s["line"],
                "id": s["id"], "reason": s["reason"]}
               for lang, r in results.items() for s in r.skipped]
    by_lang = {lang: r.summary() for lang, r in results.items()}
    conventions = {r.convention for r in results.values()}
    entry = {
        "convention": _merge(conventions), "num_examples": sum(
            r.num_read for r in results.values()),
        "num_lines": sum(r.num_lines for r in results.values()),
        "num_skipped": len(skipped),
        "neck_centred": all(r.neck_centred for r in results.values())}
    entry["divisor"] = _divisor(entry["convention"])
    if self.builder_config.lang == MULTI:
      entry["by_lang"] = by_lang
    meta["splits"][split] = entry
    meta["skipped"] = meta["skipped"] + skipped
    meta["num_skipped"] = len(meta["skipped"])
    meta["convention"] = _merge(
        {s["convention"] for s in meta["splits"].values()})
    meta["divisor"] = _divisor(meta["convention"])
    meta["neck_centred"] = all(
        s["neck_centred"] for s in meta["splits"].values())
    meta["pose_convention"] = {
        "name": "internal", "divisor": 1.0, "missing": "NaN",
        "counter": "not stored; internal counter of frame i of T is (i+1)/T",
        "file_convention": meta["convention"],
        "file_divisor": meta["divisor"]}


def _merge(conventions: set[str]) -> str:
  known = set(conventions) - {"unknown"}
  if "mixed" in known:
    return "mixed"
  return known.pop() if len(known) == 1 else ("mixed" if known else
                                               "unknown")


def _divisor(convention: str) -> float | None:
  if convention == dwpose.CONVENTION:
    return 1.0
  conv = skels.CONVENTIONS.get(convention)
  return conv.divisor if conv else None


def build(config: str, *, manual_dir: str | os.PathLike,
          data_dir: str | os.PathLike, skip_bad: bool = False,
          overwrite: bool = False, beam_runner=None, beam_options=None,
          lines_per_shard: int = 1000,
          buffer_bytes: int = streaming.DEFAULT_BUFFER_BYTES) -> Builder:
  """Builds config (e.g. "gsl_v1", "LSF-CH" or "multi") as array_record.

  A sign language code alone, or "multi", selects its v1 config. With
  `beam_runner` (e.g. "DirectRunner") or `beam_options`
  (`apache_beam.options.pipeline_options.PipelineOptions`, e.g. for
  Dataflow, Spark or Flink: README.md), the split is generated by Apache
  Beam in shards of `lines_per_shard` lines.
  """
  if config.upper() in languages.LANG_CODES:
    config = config_name(config.upper(), "v1")
  elif config == MULTI:
    config = config_name(MULTI, "v1")
  names = [c.name for c in Builder.BUILDER_CONFIGS]
  if config not in names:
    raise ValueError(f"unknown prompt2sign config {config!r}; known: "
                     f"{', '.join(names)}")
  if not pathlib.Path(manual_dir).is_dir():
    raise FileNotFoundError(f"manual_dir {manual_dir} is not a directory")
  # Fail with our message before TFDS's generic one about an empty folder.
  lang = next(c.lang for c in Builder.BUILDER_CONFIGS if c.name == config)
  for directory in language_dirs(manual_dir, lang).values():
    find_splits(directory)
  use_beam = beam_runner is not None or beam_options is not None
  builder = Builder(config=config, data_dir=os.fspath(data_dir),
                    skip_bad=skip_bad, use_beam=use_beam,
                    lines_per_shard=lines_per_shard,
                    buffer_bytes=buffer_bytes)
  mode = (tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS if overwrite else
          tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
  builder.download_and_prepare(
      file_format="array_record",
      download_config=tfds.download.DownloadConfig(
          manual_dir=os.fspath(manual_dir), download_mode=mode,
          beam_runner=beam_runner, beam_options=beam_options))
  return builder
