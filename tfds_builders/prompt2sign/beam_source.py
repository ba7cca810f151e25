"""Prompt2Sign splits as Beam shards of line ranges, and their reports.

A split (one language folder, or several for the multi configs) is cut into
shards of `lines_per_shard` lines. The driver makes one streamed pass per
file (line counts, byte offsets of each shard's first line, clip ids for
duplicates across shards, the convention the first good line sets), so a
worker seeks to its shard and reads it with the same `skels.SplitState`
logic as the single-process path: both give the same examples under the
same keys (`streaming.spread_key` of the line's index in the split).

One difference remains: the plain path calls a later copy of an id a
duplicate only when the first copy was read; across shards the driver
checks raw ids, so a later copy of an id whose first line was bad is
skipped as a duplicate here and read there.

Workers cannot write the builder's metadata: each shard writes a JSON report
(lines, reads, skips with reasons, convention, neck-centring) into
`reports_dir`; the builder merges them after the pipeline (`collect_reports`)
into the same metadata the plain path writes.
"""

import dataclasses
import json
import pathlib

from etils import epath

from tfds_builders import streaming

from signllm_jax.data import dwpose
from signllm_jax.data import skels


@dataclasses.dataclass
class LangResult:
  """What reading one language's split gave (metadata of the builder)."""
  num_lines: int
  num_read: int
  skipped: list[dict]  # {"line", "id", "reason"}
  convention: str
  neck_centred: bool

  @classmethod
  def of(cls, state: skels.SplitState, variant: str) -> "LangResult":
    dw = variant == "dwpose"
    return cls(
        num_lines=state.num_lines, num_read=state.num_read,
        skipped=[{"line": s.line, "id": s.id, "reason": s.reason}
                 for s in state.skipped],
        convention=dwpose.CONVENTION if dw else (
            state.convention or "unknown"),
        neck_centred=not dw and state.neck_centred and state.num_read > 0)

  def summary(self) -> dict:
    return {"convention": self.convention, "num_examples": self.num_read,
            "num_lines": self.num_lines, "num_skipped": len(self.skipped),
            "neck_centred": self.neck_centred}


@dataclasses.dataclass(frozen=True)
class Shard:
  index: int
  lang: str
  directory: str
  split: str
  variant: str
  first_line: int  # 0-based line of the split's files
  num_lines: int
  offsets: dict  # ext -> byte offset of first_line
  key_offset: int  # index of the language's line 0 in the whole split
  total_lines: int  # of the whole split (all languages): the key spread
  detected: str | None  # convention set by the lines before the shard
  seen: dict  # id -> first line, for ids of this shard seen before it
  skip_bad: bool


@dataclasses.dataclass
class Plan:
  total_lines: int
  shards: list[Shard]


def _first_convention(directory, split) -> str | None:
  """The convention the plain path detects: the first good line's."""
  state = skels.SplitState()
  for item in skels.iter_split(directory, split, on_error="skip",
                               state=state):
    if isinstance(item, skels.Record):
      return state.convention
  return None


def plan(dirs: dict[str, pathlib.Path], split: str, *, variant: str,
         lines_per_shard: int, skip_bad: bool, full: bool) -> Plan:
  """Line counts (always) and, with `full`, the Beam shards of a split."""
  counts = {}
  for lang, directory in dirs.items():
    paths = skels.split_files(directory, split)
    counts[lang] = skels.count_lines(paths["files"])
  total = sum(counts.values())
  if not full:
    return Plan(total, [])
  if lines_per_shard <= 0:
    raise ValueError(f"lines_per_shard must be positive: {lines_per_shard}")
  shards, key_offset = [], 0
  for lang, directory in dirs.items():
    # Same checks (and errors) as the plain path before any example.
    paths, num_lines, _ = skels.iter_parallel_lines(directory, split)
    offsets = {ext: skels.line_offsets(p, lines_per_shard)
               for ext, p in paths.items()}
    detected = (None if variant == "dwpose" else
                _first_convention(directory, split))
    first_seen = {}
    shard_seen = [{} for _ in range(len(offsets["files"]))]
    with paths["files"].open("rb") as f:
      for n, raw in enumerate(f):
        clip_id = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", "replace")
        s = n // lines_per_shard
        if clip_id in first_seen and first_seen[clip_id] // (
            lines_per_shard) < s:
          shard_seen[s][clip_id] = first_seen[clip_id] + 1
        first_seen.setdefault(clip_id, n)
    del first_seen
    for s, first in enumerate(range(0, num_lines, lines_per_shard)):
      shards.append(Shard(
          index=len(shards), lang=lang, directory=str(directory),
          split=split, variant=variant, first_line=first,
          num_lines=min(lines_per_shard, num_lines - first),
          offsets={ext: o[s] for ext, o in offsets.items()},
          key_offset=key_offset, total_lines=total, detected=detected,
          seen=shard_seen[s], skip_bad=skip_bad))
    key_offset += num_lines
  return Plan(total, shards)


def read_shard(shard: Shard, reports_dir: str, id_prefix: bool):
  """Yields (key, example) of a shard, then writes its report."""
  # pylint: disable-next=g-import-not-at-top
  from tfds_builders.prompt2sign import prompt2sign_dataset_builder as p2s
  directory = pathlib.Path(shard.directory)
  paths = skels.split_files(directory, shard.split)
  state = skels.SplitState(detected=shard.detected)
  state.seen.update(shard.seen)
  on_error = "skip" if shard.skip_bad else "raise"
  lines = skels.iter_line_range(paths, shard.offsets, shard.num_lines)
  prefix = f"{shard.lang}/" if id_prefix else ""
  for n, raw in enumerate(lines):
    line_no = shard.first_line + n + 1
    if shard.variant == "dwpose":
      item = dwpose.step(state, paths, raw, line_no, on_error)
    else:
      item = state.step(paths, raw, line_no, on_error)
    if isinstance(item, skels.Record):
      key = streaming.spread_key(shard.key_offset + line_no - 1,
                                 shard.total_lines)
      yield key, p2s.make_example(item, shard.lang, shard.split,
                                  id_prefix=prefix)
  report = dataclasses.asdict(LangResult.of(state, shard.variant))
  report.update(lang=shard.lang, first_line=shard.first_line,
                raw_neck_centred=state.neck_centred)
  out = epath.Path(reports_dir)
  out.mkdir(parents=True, exist_ok=True)
  # Retried bundles rewrite the same file: the report stays one per shard.
  (out / f"shard-{shard.index:06d}.json").write_text(json.dumps(report))


def transform(the_plan: Plan, split: str, reports_dir, *, id_prefix: bool):
  """The Beam PTransform TFDS applies to its pipeline for this split."""
  import apache_beam as beam  # pylint: disable=g-import-not-at-top
  reports_dir = str(reports_dir)
  out = epath.Path(reports_dir)
  if out.exists():
    out.rmtree()  # reports of an earlier, interrupted build

  class _Source(beam.PTransform):

    def expand(self, pbegin):
      return (pbegin
              | f"Shards_{split}" >> beam.Create(the_plan.shards)
              | f"Reshuffle_{split}" >> beam.Reshuffle()
              | f"Read_{split}" >> beam.FlatMap(
                  read_shard, reports_dir=reports_dir, id_prefix=id_prefix))
  return _Source()


def collect_reports(reports_dir, langs: list[str]) -> dict[str, LangResult]:
  """Merges the shard reports of a split into one LangResult per language."""
  reports_dir = epath.Path(reports_dir)
  reports = sorted((json.loads(p.read_text())
                    for p in reports_dir.glob("shard-*.json")),
                   key=lambda r: (langs.index(r["lang"]), r["first_line"]))
  out = {}
  for lang in langs:
    mine = [r for r in reports if r["lang"] == lang]
    read = sum(r["num_read"] for r in mine)
    out[lang] = LangResult(
        num_lines=sum(r["num_lines"] for r in mine), num_read=read,
        skipped=[s for r in mine for s in r["skipped"]],
        convention=next((r["convention"] for r in mine
                         if r["convention"] != "unknown"), "unknown"),
        neck_centred=all(r["raw_neck_centred"] for r in mine) and read > 0
        and all(r["convention"] != dwpose.CONVENTION for r in mine))
  reports_dir.rmtree()
  return out
