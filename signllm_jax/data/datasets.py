"""Build and locate TFDS datasets, and the artefacts stored beside them.

What the CLI calls (`signllm data build NAME --config C [--data_dir D]`):

- `build_dataset(name, config, *, data_dir, manual_dir, progress)`: builds
  `synth_sign` with its folder-style builder (array_record, no TensorFlow)
  or dispatches `prompt2sign` to `tfds_builders.prompt2sign.build`.
- `dataset_dir(name, config, data_dir)`: the versioned directory
  `DATA_DIR/NAME/CONFIG/VERSION` (the newest complete version).
- `load_tokenizer`, `load_stats`, `load_index`, `data_source`: what the
  pipeline reads.

The default data_dir is `$TFDS_DATA_DIR` when set, else
`~/tensorflow_datasets` (TFDS's own default).

A dataset built by another builder may lack `tokenizer.model`, the stats in
its MetadataDict or the `{split}_index.npz` files that synth_sign writes;
then they are computed from the data on first use (tokenizer and stats from
the train split) and cached in the dataset directory when it is writable
(`pose_stats.json` for the stats), with a log line saying so.
"""

from collections.abc import Iterator
import json
import logging
import os
import pathlib

import numpy as np

from signllm_jax import languages
from signllm_jax.data import normalize
from signllm_jax.data import tokenizer as tokenizer_lib

TOKENIZER_FILE = "tokenizer.model"
INDEX_FILE = "{split}_index.npz"
STATS_FILE = "pose_stats.json"
INDEX_FIELDS = ("lang", "num_frames", "text_len", "prompt_len", "gloss_len")

_log = logging.getLogger(__name__)


def default_data_dir() -> pathlib.Path:
  return pathlib.Path(os.environ.get(
      "TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser()


def build_dataset(name: str, config: str, *, data_dir=None, manual_dir=None,
                  progress: bool = True, skip_bad: bool = False
                  ) -> pathlib.Path:
  """Builds dataset `name`/`config` into `data_dir`; returns its directory.

  Args:
    name: "synth_sign", "prompt2sign" or "pose_lexicon".
    config: the builder config (synth_sign: tiny, small, large).
    data_dir: root data directory (default: see module docstring).
    manual_dir: the folder of source files (prompt2sign, pose_lexicon).
    progress: show progress bars while generating.
    skip_bad: skip malformed clips (reported in the metadata) instead of
      failing (prompt2sign, pose_lexicon).

  Returns:
    The versioned dataset directory.
  """
  data_dir = pathlib.Path(data_dir).expanduser() if data_dir else (
      default_data_dir())
  if name == "synth_sign":
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    # pylint: disable-next=g-import-not-at-top
    from tfds_builders.synth_sign import synth_sign_dataset_builder as ssb
    builder = ssb.Builder(
        config=config, data_dir=os.fspath(data_dir))
    tfds.display_progress_bar(progress)
    try:
      builder.download_and_prepare(file_format="array_record")
    finally:
      tfds.display_progress_bar(True)
    return pathlib.Path(builder.data_path)
  if name == "prompt2sign":
    from tfds_builders import prompt2sign  # pylint: disable=g-import-not-at-top
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    if manual_dir is None:
      raise ValueError("prompt2sign needs manual_dir (the folder of source "
                       "files)")
    tfds.display_progress_bar(progress)
    try:
      out = prompt2sign.build(config, manual_dir=manual_dir,
                              data_dir=os.fspath(data_dir), skip_bad=skip_bad)
    finally:
      tfds.display_progress_bar(True)
    # build() returns the Builder (or, in some versions, a path).
    path = getattr(out, "data_path", out)
    return pathlib.Path(path) if path else dataset_dir(name, config, data_dir)
  if name == "pose_lexicon":
    # pylint: disable-next=g-import-not-at-top
    from tfds_builders import pose_lexicon
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    if manual_dir is None:
      raise ValueError("pose_lexicon needs manual_dir (the folder holding "
                       "index.csv)")
    if config not in ("default", "", None):
      raise ValueError(f"pose_lexicon has one config, 'default', not "
                       f"{config!r}")
    tfds.display_progress_bar(progress)
    try:
      builder = pose_lexicon.build(manual_dir=manual_dir,
                                   data_dir=os.fspath(data_dir),
                                   strict=not skip_bad)
    finally:
      tfds.display_progress_bar(True)
    return pathlib.Path(builder.data_path)
  raise ValueError(f"unknown dataset {name!r}; known: synth_sign, "
                   "prompt2sign, pose_lexicon")


def _version_key(v: str):
  try:
    return tuple(int(x) for x in v.split("."))
  except ValueError:
    return (-1,)


def dataset_dir(name: str, config: str | None, data_dir=None) -> pathlib.Path:
  """The newest complete version directory of a built dataset."""
  root = pathlib.Path(data_dir).expanduser() if data_dir else (
      default_data_dir())
  parent = root / name / config if config else root / name
  versions = sorted(
      (p for p in parent.glob("*")
       if p.is_dir() and (p / "dataset_info.json").exists()),
      key=lambda p: _version_key(p.name))
  if not versions:
    raise FileNotFoundError(
        f"dataset {name}/{config} not built in {root} (no "
        f"{parent}/<version>/dataset_info.json); build it with "
        f"`signllm data build {name} --config {config} --data_dir {root}`")
  return versions[-1]


# Generated from code in this repository: building one needs no download, so
# train / evaluate build it on first use (as tfds.load does).
EMBEDDED = ("synth_sign",)


def ensure_built(name: str, config: str | None, data_dir=None, *,
                 progress: bool = True) -> pathlib.Path:
  """dataset_dir, first building an embedded corpus that is missing.

  A real dataset (prompt2sign, pose_lexicon) needs its source files and an
  explicit `signllm data build`: for it a missing build stays an error.
  """
  try:
    return dataset_dir(name, config, data_dir)
  except FileNotFoundError:
    if name not in EMBEDDED:
      raise
  root = pathlib.Path(data_dir).expanduser() if data_dir else (
      default_data_dir())
  _log.warning("dataset %s/%s is not built in %s: building it now (embedded "
               "corpus, nothing downloaded)", name, config, root)
  return build_dataset(name, config, data_dir=root, progress=progress)


def data_source(path: os.PathLike, split: str):
  """A random-access `tfds` data source (array_record) for one split."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  builder = tfds.builder_from_directory(os.fspath(path))
  if split not in builder.info.splits:
    raise ValueError(f"{path}: no split {split!r}; has "
                     f"{sorted(builder.info.splits)}")
  return builder.as_data_source(split)


def _metadata(path: pathlib.Path) -> dict:
  f = path / "metadata.json"
  return json.loads(f.read_text()) if f.exists() else {}


def _try_write(write, target: pathlib.Path, what: str) -> None:
  try:
    write()
    _log.info("cached %s in %s", what, target)
  except OSError as e:
    _log.warning("could not cache %s in %s (%s); recomputed on each use",
                 what, target, e)


def _as_str(v) -> str:
  return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def _examples(path: pathlib.Path, split: str, progress: bool
              ) -> Iterator[dict]:
  import tqdm  # pylint: disable=g-import-not-at-top
  src = data_source(path, split)
  for i in tqdm.trange(len(src), desc=f"scanning {path.name} {split}",
                       disable=not progress):
    yield src[i]


def load_tokenizer(name: str | None = None, config: str | None = None,
                   data_dir=None, *, path: os.PathLike | None = None,
                   vocab_size: int = 8000, progress: bool = False
                   ) -> tokenizer_lib.Tokenizer:
  """The dataset's tokenizer (trained from its train split if absent)."""
  path = pathlib.Path(path) if path else dataset_dir(name, config, data_dir)
  f = path / _metadata(path).get("tokenizer_file", TOKENIZER_FILE)
  if f.exists():
    return tokenizer_lib.Tokenizer.load(f)
  _log.warning("%s has no tokenizer; training one on its train split", path)

  def sentences():
    for ex in _examples(path, "train", progress):
      for k in ("text", "prompt", "lang_gloss"):
        yield _as_str(ex[k])
  tok = tokenizer_lib.train_tokenizer(sentences(), vocab_size=vocab_size)
  _try_write(lambda: tok.save(path / TOKENIZER_FILE), path, "tokenizer")
  return tok


def load_stats(name: str | None = None, config: str | None = None,
               data_dir=None, *, path: os.PathLike | None = None,
               progress: bool = False, lang: str | None = None
               ) -> normalize.PoseStats:
  """Train-split pose statistics (metadata, cache file, else computed).

  With `lang`, that language's statistics (`by_lang` in the cache file or
  `stats_by_lang` in the metadata); a dataset without per-language ones
  gives its global statistics. Computing them (no metadata, no cache) does
  both in one pass and caches `pose_stats.json` as the global
  `{"mean_Jx3", "std"}` plus `"by_lang": {code: {"mean_Jx3", "std"}}`.
  """
  path = pathlib.Path(path) if path else dataset_dir(name, config, data_dir)
  meta = _metadata(path)
  if "stats" in meta:
    by_lang = meta.get("stats_by_lang", {})
    return normalize.PoseStats.from_dict(by_lang.get(lang, meta["stats"]))
  cache = path / STATS_FILE
  if cache.exists():
    d = json.loads(cache.read_text())
    if lang is None or "by_lang" in d:
      return normalize.PoseStats.from_dict(d.get("by_lang", {}).get(lang, d))
    _log.warning("%s has no per-language statistics; recomputing", cache)
  _log.warning("%s has no pose statistics; computing them on train", path)
  total, by_lang = normalize.StatsAccumulator(), {}
  for ex in _examples(path, "train", progress):
    pose = np.asarray(ex["pose"], np.float32)
    total.add(pose)
    by_lang.setdefault(_as_str(ex["lang"]),
                       normalize.StatsAccumulator()).add(pose)
  stats = total.result()
  per_lang = {l: a.result() for l, a in sorted(by_lang.items())}
  d = {**stats.to_dict(),
       "by_lang": {l: s.to_dict() for l, s in per_lang.items()}}
  _try_write(lambda: cache.write_text(json.dumps(d)), cache,
             "pose statistics")
  return per_lang.get(lang, stats)


def load_index(path: os.PathLike, split: str,
               tok: tokenizer_lib.Tokenizer, *, progress: bool = False
               ) -> dict[str, np.ndarray]:
  """Per-record lang, num_frames and token lengths of one split.

  Read from `{split}_index.npz` when present and consistent with the split's
  size, else computed by one pass over the records and cached.
  """
  path = pathlib.Path(path)
  f = path / INDEX_FILE.format(split=split)
  n = len(data_source(path, split))
  if f.exists():
    with np.load(f) as z:
      index = {k: z[k] for k in INDEX_FIELDS}
    if all(len(v) == n for v in index.values()):
      return index
    _log.warning("%s has %d entries, the split %d: rebuilding it", f,
                 len(index["lang"]), n)
  cols = {k: [] for k in INDEX_FIELDS}
  for ex in _examples(path, split, progress):
    cols["lang"].append(languages.lang_index(_as_str(ex["lang"])))
    cols["num_frames"].append(np.shape(ex["pose"])[0])
    cols["text_len"].append(len(tok.encode(_as_str(ex["text"]))))
    cols["prompt_len"].append(len(tok.encode(_as_str(ex["prompt"]))))
    cols["gloss_len"].append(len(tok.encode(_as_str(ex["lang_gloss"]))))
  index = {k: np.asarray(v, np.int32) for k, v in cols.items()}
  _try_write(lambda: np.savez(f, **index), f, f"{split} index")
  return index
