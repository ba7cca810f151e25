"""TFDS (array_record) -> grain -> sharded global batches.

Over ~400 lines for now: the train iterator and the eval batches share the
record transforms and the host/device plumbing; the next split is train vs
eval halves.

Train: for each group of examples (one language, or all languages when
`language_homogeneous` is off, times one frame bucket) an infinite stream of
record indices, reshuffled every epoch (seed + epoch) and split across hosts
(host p takes positions p, p + P, ...) -> load + normalise + tokenise + pad to
the group's bucket -> batch (host batch = global batch / process_count).
The group streams are mixed with `grain.MapDataset.mix`, a deterministic
weighted interleave: every host picks the same group (hence the same
language and frame bucket, so the same global shapes) at every step. Each
batch then becomes global `jax.Array`s sharded over the mesh's batch axes.

Eval (`make_eval_batches`): deterministic, no repeat, every example exactly
once; batches are grouped like train (language, bucket); the last batch of a
group is padded with rows whose `example_mask` is False (idx -1).

Batch (B = global batch; T = the step's frame bucket):
  text [B, L] int32 (ids + EOS, 0 pad), text_mask [B, L] bool,
  prompt [B, Lp] int32 (ids + EOS), prompt_mask,
  lang_gloss [B, G] int32 (BOS ids EOS), lang_gloss_mask,
  lang [B] int32 (languages.lang_index), pose [B, T, 151] float32
  (normalise.to_frames, zero padded), pose_mask [B, T] bool, length [B] int32,
  idx [B] int32 (record index in the split: stable), example_mask [B] bool.

Data config fields (`default_data_config()`):
  name: TFDS dataset name ("synth_sign").
  config: builder config ("tiny").
  data_dir: root data dir; None = $TFDS_DATA_DIR or ~/tensorflow_datasets.
  langs: "all" or "ASL,GSL" (languages.parse_langs).
  train_split / eval_split: "train" / "dev".
  batch_size: global batch size (divisible by process_count and by the
    product of the mesh's batch axes).
  max_frames: the largest frame bucket.
  frame_buckets: tuple of padded frame lengths (sorted, the last must equal
    max_frames); () means (max_frames,). Each bucket is one compiled shape.
  too_long: what to do with train examples longer than max_frames:
    "filter" (dropped; the count is logged and in `iterator.report`) or
    "truncate" (first max_frames frames, counter as in the full clip, so it
    stays < 1; counted likewise). Eval never drops: it adds one bucket
    (rounded up to a multiple of 64) for longer examples, logged.
  max_text_len / max_prompt_len / max_gloss_len: token lengths including
    EOS (and BOS for the gloss); longer sequences are truncated (EOS kept)
    and counted in `report`.
  language_homogeneous: one language per batch (MLSF); else mixed batches.
  lang_weights: how often each language's batches come (with
    language_homogeneous): "proportional" (to its number of examples),
    "uniform" (each language equally often) or "temperature" (p ~ n^alpha,
    as multilingual language models sample: alpha 1 is proportional, 0
    uniform). Within a language, frame buckets come in proportion to their
    examples. `lang_mix` gives the probabilities; the iterator's report
    holds them.
  lang_alpha: the exponent of "temperature" (0.3 as in XLM-R/mT5).
  pose_stats: "global" (one mean pose and std for every language) or
    "per_lang" (each example normalised with its language's train
    statistics, `datasets.load_stats(lang=...)`; for sources in different
    coordinate frames, see docs/REAL_DATA.md). Whatever de-normalises model
    output must then use the same language's statistics.
  shuffle_seed: seed of the per-epoch shuffles.
  worker_count: grain worker processes (0 = in-process; >0 needs a
    `__main__` guard in the calling script).
  read_threads: threads grain uses to prepare batches ahead.
  prefetch: batches grain prepares ahead (per worker).
"""

from collections.abc import Iterator, Sequence
import dataclasses
import logging
import functools
import math
import pathlib
import sys
from typing import Any

from absl import flags as absl_flags
import grain
import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import ml_collections
import numpy as np

from signllm_jax import languages
from signllm_jax import skeleton
from signllm_jax.data import datasets
from signllm_jax.data import normalize
from signllm_jax.data import tokenizer as tokenizer_lib

_log = logging.getLogger(__name__)
F = skeleton.FRAME_DIM


def default_data_config() -> ml_collections.ConfigDict:
  """The data block of experiments/base.py (where every default lives)."""
  from experiments import base  # pylint: disable=g-import-not-at-top
  return base.get_config().data


LANG_WEIGHTS = ("proportional", "uniform", "temperature")


def lang_mix(counts: dict[str, int], mode: str, alpha: float = 0.3
             ) -> dict[str, float]:
  """Probability of each language's batches: n, 1 or n^alpha, normalised."""
  if mode not in LANG_WEIGHTS:
    raise ValueError(f"lang_weights must be one of {LANG_WEIGHTS}, not "
                     f"{mode!r}")
  if mode == "temperature" and not 0 <= alpha <= 1:
    raise ValueError(f"lang_alpha must be in [0, 1], got {alpha}")
  if not counts or any(n <= 0 for n in counts.values()):
    raise ValueError(f"every language needs examples: {counts}")
  exponent = {"proportional": 1.0, "uniform": 0.0, "temperature": alpha}[mode]
  raw = {l: float(n) ** exponent for l, n in counts.items()}
  total = sum(raw.values())
  return {l: v / total for l, v in raw.items()}


def _buckets(cfg) -> tuple[int, ...]:
  buckets = tuple(int(b) for b in cfg.frame_buckets) or (int(cfg.max_frames),)
  if list(buckets) != sorted(set(buckets)) or buckets[0] <= 0:
    raise ValueError(f"frame_buckets must be increasing and positive: "
                     f"{buckets}")
  if buckets[-1] != cfg.max_frames:
    raise ValueError(f"the last frame bucket ({buckets[-1]}) must equal "
                     f"max_frames ({cfg.max_frames})")
  return buckets


@dataclasses.dataclass
class _Artefacts:
  path: Any
  tok: tokenizer_lib.Tokenizer
  stats: normalize.PoseStats
  # lang index -> statistics, with pose_stats="per_lang"; else None.
  stats_by_lang: dict[int, normalize.PoseStats] | None = None


def _artefacts(cfg) -> _Artefacts:
  path = datasets.dataset_dir(cfg.name, cfg.config, cfg.data_dir)
  # Configs written before pose_stats existed meant global statistics.
  return _load_artefacts(str(path), cfg.get("pose_stats", "global"),
                         str(cfg.langs))


def load_assets(data_cfg) -> tuple[Any, tokenizer_lib.Tokenizer,
                                   normalize.PoseStats]:
  """(dataset folder, tokenizer, global statistics): what the trainer
  copies into its workdir; read once per process with the pipeline's."""
  art = _artefacts(data_cfg)
  return art.path, art.tok, art.stats


@functools.lru_cache(maxsize=8)
def _load_artefacts(path_str: str, mode: str, langs: str) -> _Artefacts:
  """One read per dataset folder and process: the train iterator, the dev
  batches and the trainer share it (the files do not change under a run)."""
  path = pathlib.Path(path_str)
  tok = datasets.load_tokenizer(path=path)
  if mode not in ("global", "per_lang"):
    raise ValueError(f"pose_stats must be 'global' or 'per_lang', not "
                     f"{mode!r}")
  by_lang = None
  if mode == "per_lang":
    by_lang = {languages.lang_index(c): datasets.load_stats(path=path, lang=c)
               for c in languages.parse_langs(langs)}
  return _Artefacts(path, tok, datasets.load_stats(path=path), by_lang)


def encode_ids(tok, text: str, max_len: int, *, bos: bool
               ) -> tuple[np.ndarray, bool]:
  """Token ids (+ EOS, BOS if asked) zero-padded to max_len; truncated?.

  Training, evaluation and generation all encode text through this.
  """
  ids = tok.encode(text)
  room = max_len - 1 - int(bos)
  truncated = len(ids) > room
  ids = ([tokenizer_lib.BOS_ID] if bos else []) + ids[:room] + [
      tokenizer_lib.EOS_ID]
  out = np.zeros(max_len, np.int32)
  out[:len(ids)] = ids
  return out, truncated


def _str(v) -> str:
  return v.decode("utf-8") if isinstance(v, bytes) else str(v)


class Preprocess:
  """Record index -> one padded example (module level: picklable)."""

  def __init__(self, source, tok, stats, *, frames: int, max_text_len: int,
               max_prompt_len: int, max_gloss_len: int,
               stats_by_lang: dict[int, normalize.PoseStats] | None = None):
    self.source = source
    self.tok = tok
    self.stats = stats
    self.stats_by_lang = stats_by_lang
    self.frames = frames
    self.lens = (max_text_len, max_prompt_len, max_gloss_len)

  def padding(self, lang: int) -> dict[str, np.ndarray]:
    """An all-masked row (eval padding)."""
    lt, lp, lg = self.lens
    return {
        "text": np.zeros(lt, np.int32), "text_mask": np.zeros(lt, bool),
        "prompt": np.zeros(lp, np.int32), "prompt_mask": np.zeros(lp, bool),
        "lang_gloss": np.zeros(lg, np.int32),
        "lang_gloss_mask": np.zeros(lg, bool),
        "lang": np.int32(lang),
        "pose": np.zeros((self.frames, F), np.float32),
        "pose_mask": np.zeros(self.frames, bool),
        "length": np.int32(0), "idx": np.int32(-1),
        "example_mask": np.bool_(False),
    }

  def __call__(self, index) -> dict[str, np.ndarray]:
    index = int(index)
    ex = self.source[index]
    lt, lp, lg = self.lens
    text, _ = encode_ids(self.tok, _str(ex["text"]), lt, bos=False)
    prompt, _ = encode_ids(self.tok, _str(ex["prompt"]), lp, bos=False)
    gloss, _ = encode_ids(self.tok, _str(ex["lang_gloss"]), lg, bos=True)
    lang = languages.lang_index(_str(ex["lang"]))
    stats = (self.stats if self.stats_by_lang is None else
             self.stats_by_lang[lang])
    frames_TxF = normalize.to_frames(
        np.asarray(ex["pose"], np.float32), stats)[:self.frames]
    t = frames_TxF.shape[0]
    pose = np.zeros((self.frames, F), np.float32)
    pose[:t] = frames_TxF
    return {
        "text": text, "text_mask": text != 0,
        "prompt": prompt, "prompt_mask": prompt != 0,
        "lang_gloss": gloss, "lang_gloss_mask": gloss != 0,
        "lang": np.int32(lang),
        "pose": pose, "pose_mask": np.arange(self.frames) < t,
        "length": np.int32(t), "idx": np.int32(index),
        "example_mask": np.bool_(True),
    }


class EpochShuffled(grain.MapDataset):
  """Infinite stream of `indices`, reshuffled each epoch with seed + epoch.

  Permutations come from numpy's PCG64 (stable across versions), one per
  epoch, cached: grain's `index_shuffle` costs milliseconds per call here.
  """

  def __init__(self, indices: np.ndarray, seed: int):
    super().__init__()
    if len(indices) == 0:
      raise ValueError("EpochShuffled needs at least one index")
    self._indices = np.asarray(indices, np.int64)
    self._seed = int(seed)
    self._perms = {}  # epoch -> permuted indices (the last few epochs)

  def __len__(self) -> int:
    return sys.maxsize

  def __str__(self) -> str:
    return f"EpochShuffled(n={len(self._indices)})"

  def _perm(self, epoch: int) -> np.ndarray:
    perm = self._perms.get(epoch)
    if perm is None:
      rng = np.random.default_rng([self._seed, epoch])
      perm = self._indices[rng.permutation(len(self._indices))]
      # Threads may race here; both compute the same permutation.
      self._perms = {e: p for e, p in self._perms.items()
                     if abs(e - epoch) <= 2}
      self._perms[epoch] = perm
    return perm

  def __getitem__(self, k):
    if isinstance(k, slice):
      return self.slice(k)
    epoch, i = divmod(int(k), len(self._indices))
    return int(self._perm(epoch)[i])

  def __getstate__(self):
    state = self.__dict__.copy()
    state["_perms"] = {}
    return state


def _report_lengths(index, keep, cfg, split: str) -> dict[str, int]:
  """Counts of what the length limits change (logged, never silent)."""
  rep = {
      "examples": int(keep.sum()),
      "text_truncated": int((index["text_len"][keep] + 1
                             > cfg.max_text_len).sum()),
      "prompt_truncated": int((index["prompt_len"][keep] + 1
                               > cfg.max_prompt_len).sum()),
      "gloss_truncated": int((index["gloss_len"][keep] + 2
                              > cfg.max_gloss_len).sum()),
  }
  for k, v in rep.items():
    if k != "examples" and v:
      _log.warning("%s/%s %s: %d examples %s", cfg.name, split, k, v,
                   "are truncated to the configured max length")
  return rep


def _batch_sharding(mesh, batch_axes) -> NamedSharding:
  axes = tuple(a for a in batch_axes if a in mesh.axis_names)
  if not axes:
    raise ValueError(f"none of the batch axes {batch_axes} is in the mesh "
                     f"{mesh.axis_names}")
  return NamedSharding(mesh, P(axes))


def _check_batch(cfg, sharding, process_count) -> int:
  b = int(cfg.batch_size)
  axes = sharding.spec[0]
  axes = (axes,) if isinstance(axes, str) else tuple(axes)
  shards = math.prod(sharding.mesh.shape[a] for a in axes)
  if b % process_count or b % shards:
    raise ValueError(f"global batch_size {b} must be divisible by "
                     f"process_count {process_count} and by the {shards} "
                     f"batch shards of the mesh")
  return b // process_count


def _to_global(batch, sharding):
  return {k: jax.make_array_from_process_local_data(sharding, v)
          for k, v in batch.items()}


class TrainIterator:
  """Infinite iterator of global batches with checkpointable state."""

  def __init__(self, grain_iter, sharding, report):
    self._it = grain_iter
    self._sharding = sharding
    self.report = report

  def __iter__(self):
    return self

  def __next__(self) -> dict[str, jax.Array]:
    return _to_global(next(self._it), self._sharding)

  def get_state(self) -> dict:
    """The grain iterator state (json-able; the steps consumed so far)."""
    return self._it.get_state()

  def set_state(self, state: dict) -> None:
    self._it.set_state(state)


def make_train_iterator(data_cfg, *, mesh, batch_axes=("data", "fsdp"),
                        seed: int | None = None,
                        process_index: int | None = None,
                        process_count: int | None = None) -> TrainIterator:
  """The training stream (see the module docstring).

  Args:
    data_cfg: the data ConfigDict.
    mesh: the device mesh; batches are sharded over `batch_axes`.
    batch_axes: mesh axes of the batch dimension (absent ones are ignored).
    seed: shuffle seed; None = data_cfg.shuffle_seed.
    process_index / process_count: this host; None = jax's.

  Returns:
    A `TrainIterator` (`next`, `get_state`, `set_state`, `report`).
  """
  cfg = data_cfg
  seed = cfg.shuffle_seed if seed is None else seed
  pi = jax.process_index() if process_index is None else process_index
  pc = jax.process_count() if process_count is None else process_count
  sharding = _batch_sharding(mesh, batch_axes)
  host_b = _check_batch(cfg, sharding, pc)
  buckets = _buckets(cfg)
  if cfg.too_long not in ("filter", "truncate"):
    raise ValueError(f"too_long must be 'filter' or 'truncate', not "
                     f"{cfg.too_long!r}")
  art = _artefacts(cfg)
  split = cfg.train_split
  source = datasets.data_source(art.path, split)
  index = datasets.load_index(art.path, split, art.tok)
  lang_ids = [languages.lang_index(c) for c in languages.parse_langs(cfg.langs)]
  in_langs = np.isin(index["lang"], lang_ids)
  too_long = in_langs & (index["num_frames"] > buckets[-1])
  keep = in_langs & ~too_long if cfg.too_long == "filter" else in_langs
  report = {"split": split, "too_long": int(too_long.sum()),
            "too_long_action": cfg.too_long,
            **_report_lengths(index, keep, cfg, split)}
  if too_long.any():
    _log.warning("%s/%s: %d examples longer than %d frames are %s",
                 cfg.name, split, int(too_long.sum()), buckets[-1],
                 "filtered out" if cfg.too_long == "filter" else "truncated")
  frames = np.minimum(index["num_frames"], buckets[-1])
  bucket_of = np.searchsorted(np.asarray(buckets), frames)
  lang_groups = ([[l] for l in lang_ids] if cfg.language_homogeneous
                 else [lang_ids])
  if cfg.lang_weights not in LANG_WEIGHTS:
    raise ValueError(f"lang_weights must be one of {LANG_WEIGHTS}, not "
                     f"{cfg.lang_weights!r}")
  group_counts = {g: int((keep & np.isin(index["lang"], langs)).sum())
                  for g, langs in enumerate(lang_groups)}
  group_counts = {g: n for g, n in group_counts.items() if n}
  mix = (lang_mix(group_counts, cfg.lang_weights, cfg.lang_alpha)
         if group_counts else {})
  streams, weights, groups = [], [], []
  for g, langs in enumerate(lang_groups):
    in_group = keep & np.isin(index["lang"], langs)
    lang_total = int(in_group.sum())
    for b, t in enumerate(buckets):
      members = np.flatnonzero(in_group & (bucket_of == b))
      if not len(members):
        continue
      # Different streams must not shuffle alike: fold the group in.
      stream = EpochShuffled(members, seed * 1_000_003 + g * 64 + b)
      stream = stream[pi::pc].map(Preprocess(
          source, art.tok, art.stats, frames=t,
          max_text_len=cfg.max_text_len, max_prompt_len=cfg.max_prompt_len,
          max_gloss_len=cfg.max_gloss_len, stats_by_lang=art.stats_by_lang))
      streams.append(stream.batch(host_b, drop_remainder=True))
      weights.append(mix[g] * len(members) / lang_total)
      groups.append({"langs": [languages.LANG_CODES[l] for l in langs],
                     "frames": t, "examples": int(len(members)),
                     "weight": weights[-1]})
  if not streams:
    raise ValueError(f"{cfg.name}/{cfg.config} {split}: no examples left for "
                     f"langs={cfg.langs!r} and max_frames={buckets[-1]}")
  report["groups"] = groups
  ds = grain.MapDataset.mix(streams, weights) if len(streams) > 1 else (
      streams[0])
  ds = ds.to_iter_dataset(grain.ReadOptions(
      num_threads=cfg.read_threads, prefetch_buffer_size=cfg.prefetch))
  if cfg.worker_count > 0:
    # grain's workers read absl flags; a plain script never parsed them.
    if not absl_flags.FLAGS.is_parsed():
      absl_flags.FLAGS.mark_as_parsed()
    ds = ds.mp_prefetch(grain.MultiprocessingOptions(
        num_workers=cfg.worker_count, per_worker_buffer_size=cfg.prefetch))
  return TrainIterator(iter(ds), sharding, report)


class EvalBatch:
  """One host's rows of one eval batch spec (module level: picklable)."""

  def __init__(self, preprocess_by_frames: dict[int, Preprocess]):
    self.pre = preprocess_by_frames

  def __call__(self, spec):
    frames, lang, rows = spec
    pre = self.pre[frames]
    out = [pre(i) if i >= 0 else pre.padding(lang) for i in rows]
    return {k: np.stack([o[k] for o in out]) for k in out[0]}


class EvalBatches:
  """A re-iterable, deterministic pass over one split."""

  def __init__(self, ds, num_batches, sharding, report):
    self._ds = ds
    self._n = num_batches
    self._sharding = sharding
    self.report = report

  def __len__(self) -> int:
    return self._n

  def __iter__(self) -> Iterator[dict[str, jax.Array]]:
    for batch in self._ds:
      yield _to_global(batch, self._sharding)


def _chunks(seq: Sequence[int], n: int):
  for i in range(0, len(seq), n):
    yield list(seq[i:i + n])


def make_eval_batches(data_cfg, *, mesh, split: str | None = None,
                      batch_axes=("data", "fsdp"),
                      process_index: int | None = None,
                      process_count: int | None = None) -> EvalBatches:
  """Every example of `split` (default: eval_split) exactly once.

  Batches are grouped by language when `language_homogeneous` (and by frame
  bucket); the last batch of each group is padded with rows whose
  `example_mask` is False. All hosts build the same batch list and take
  their rows of each global batch.
  """
  cfg = data_cfg
  split = split or cfg.eval_split
  pi = jax.process_index() if process_index is None else process_index
  pc = jax.process_count() if process_count is None else process_count
  sharding = _batch_sharding(mesh, batch_axes)
  host_b = _check_batch(cfg, sharding, pc)
  b = int(cfg.batch_size)
  buckets = _buckets(cfg)
  art = _artefacts(cfg)
  source = datasets.data_source(art.path, split)
  index = datasets.load_index(art.path, split, art.tok)
  lang_ids = [languages.lang_index(c) for c in languages.parse_langs(cfg.langs)]
  keep = np.isin(index["lang"], lang_ids)
  longest = int(index["num_frames"][keep].max(initial=0))
  if longest > buckets[-1]:
    extra = -(-longest // 64) * 64
    _log.warning("%s/%s: %d eval examples exceed %d frames; they go in an "
                 "extra %d-frame bucket", cfg.name, split,
                 int((index["num_frames"][keep] > buckets[-1]).sum()),
                 buckets[-1], extra)
    buckets = buckets + (extra,)
  report = {"split": split, **_report_lengths(index, keep, cfg, split)}
  bucket_of = np.searchsorted(np.asarray(buckets), index["num_frames"])
  lang_groups = ([[l] for l in lang_ids] if cfg.language_homogeneous
                 else [lang_ids])
  specs = []
  for langs in lang_groups:
    for bi, t in enumerate(buckets):
      members = np.flatnonzero(keep & np.isin(index["lang"], langs)
                               & (bucket_of == bi)).tolist()
      for rows in _chunks(members, b):
        rows += [-1] * (b - len(rows))
        specs.append((t, langs[0], tuple(rows[pi * host_b:(pi + 1) * host_b])))
  report["batches"] = len(specs)
  pre = {t: Preprocess(source, art.tok, art.stats, frames=t,
                       max_text_len=cfg.max_text_len,
                       max_prompt_len=cfg.max_prompt_len,
                       max_gloss_len=cfg.max_gloss_len,
                       stats_by_lang=art.stats_by_lang) for t in buckets}
  ds = grain.MapDataset.source(specs).map(EvalBatch(pre)).to_iter_dataset(
      grain.ReadOptions(num_threads=cfg.read_threads,
                        prefetch_buffer_size=cfg.prefetch))
  return EvalBatches(ds, len(specs), sharding, report)
