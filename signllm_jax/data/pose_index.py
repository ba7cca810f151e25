"""A folder of `.pose` files plus an index CSV -> records, one at a time.

The index follows spoken-to-signed-translation's lexicon layout: a header
row with at least `path, spoken_language, signed_language, start, end,
words, glosses` (`priority` and others are ignored; an optional `split`
column names the split, else every row is "train"). `path` is relative to
the CSV's folder; `start`/`end` are milliseconds into the file (`end` 0 =
to the end), cut as spoken-to-signed does (frame = ms // (1000 / fps)).
`signed_language` is an ISO 639-3 code (`ase`, `gsg`, `sgg`, ...), mapped to
the Prompt2Sign codes by `SIGNED_LANGUAGES` (or a caller's map).

Every row is either read (a `Clip`) or skipped (a `skels.SkippedExample`
with the CSV line and why): `iter_index` yields both, in row order, so a
reader never drops a clip silently and `IndexReport` checks read + skipped
== rows. Rows are read lazily (the CSV and each `.pose` one at a time), so
memory does not grow with the index.
"""

from collections.abc import Iterator, Mapping
import collections
import csv
import dataclasses
import math
import os
import pathlib

import numpy as np

from signllm_jax import languages
from signllm_jax.data import errors
from signllm_jax.data import pose_io
from signllm_jax.data import skels

FormatError = errors.FormatError

INDEX_FILE = "index.csv"
REQUIRED_COLUMNS = ("path", "spoken_language", "signed_language", "start",
                    "end", "words", "glosses")
# ISO 639-3 -> Prompt2Sign code, for the 8 languages of languages.py.
SIGNED_LANGUAGES = {
    "ase": "ASL", "gsg": "GSL", "sgg": "DSGS", "ssr": "LSF-CH",
    "slf": "LIS-CH", "aed": "LSA", "kvk": "KSL", "tsm": "TSL",
}


@dataclasses.dataclass
class Clip:
  line: int  # 1-based CSV line (the header is line 1)
  split: str
  lang: str  # Prompt2Sign code
  spoken_language: str
  record: skels.Record  # id, text (words), pose, gloss (glosses)
  fps: float
  layout: str
  num_nan_points: int  # NaN points read as missing (pose_io.read_pose)
  dropped_dims: int


@dataclasses.dataclass
class IndexReport:
  """What one pass over an index read and skipped, and why."""
  rows: int = 0
  read: int = 0
  skipped: list[skels.SkippedExample] = dataclasses.field(
      default_factory=list)
  read_by_lang: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  skipped_by_reason: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  num_nan_points: int = 0
  files_with_nan: int = 0
  files_4d: int = 0

  def add(self, item: "Clip | skels.SkippedExample", kind: str = "") -> None:
    self.rows += 1
    if isinstance(item, Clip):
      self.read += 1
      self.read_by_lang[item.lang] += 1
      self.num_nan_points += item.num_nan_points
      self.files_with_nan += int(item.num_nan_points > 0)
      self.files_4d += int(item.dropped_dims > 0)
    else:
      self.skipped.append(item)
      self.skipped_by_reason[kind or "other"] += 1
    assert self.read + len(self.skipped) == self.rows

  def to_dict(self) -> dict:
    return {
        "rows": self.rows, "read": self.read,
        "num_skipped": len(self.skipped),
        "read_by_lang": dict(sorted(self.read_by_lang.items())),
        "skipped_by_reason": dict(sorted(self.skipped_by_reason.items())),
        "num_nan_points": self.num_nan_points,
        "files_with_nan": self.files_with_nan, "files_4d": self.files_4d,
        "skipped": [{"line": s.line, "id": s.id, "reason": s.reason}
                    for s in self.skipped],
    }


class _Skip(FormatError):
  """A row that cannot become a clip; `kind` groups the report's counts."""

  def __init__(self, kind: str, problem: str, **where):
    self.kind = kind
    super().__init__(problem, **where)


def _clip_id(row: Mapping[str, str]) -> str:
  start, end = row["start"].strip(), row["end"].strip()
  base = row["path"].strip()
  return base if (start in ("", "0") and end in ("", "0")) else (
      f"{base}#{start}-{end}")


def _ms(value: str, name: str, where: dict) -> int:
  value = value.strip() or "0"
  try:
    ms = int(value)
  except ValueError:
    raise _Skip("bad row", f"{name} {value!r} is not an integer number of "
                "milliseconds", **where) from None
  if ms < 0:
    raise _Skip("bad row", f"{name} {ms} ms is negative", **where)
  return ms


def _lang(row: Mapping[str, str], lang_map, where: dict) -> str:
  code = row["signed_language"].strip()
  lang = lang_map.get(code)
  if lang is None:
    raise _Skip("language not in Prompt2Sign",
                f"signed_language {code!r} is not mapped to a Prompt2Sign "
                f"language (mapped: {', '.join(sorted(lang_map))})", **where)
  return lang


def _read_row(root: pathlib.Path, row: dict, where: dict, lang_map,
              split: str, line: int, **read_kwargs) -> Clip:
  lang = _lang(row, lang_map, where)
  text = row["words"].strip()
  if not text:
    raise _Skip("bad row", "empty words (the clip's text)", **where)
  start, end = _ms(row["start"], "start", where), _ms(row["end"], "end",
                                                      where)
  if end and end <= start:
    raise _Skip("bad row", f"end {end} ms <= start {start} ms", **where)
  path = root / row["path"].strip()
  try:
    result = pose_io.read_pose(path, **read_kwargs)
  except FormatError as e:
    kind = ("missing file" if "cannot read" in e.problem else
            "unreadable .pose")
    raise _Skip(kind, e.problem, path=path, line=line) from None
  frame_ms = 1000.0 / result.fps
  first = math.floor(start // frame_ms)
  last = math.ceil(end // frame_ms) if end else len(result.pose)
  pose = result.pose[first:last]
  if not len(pose):
    raise _Skip("empty clip", f"no frames in [{start}, {end or 'end'}) ms "
                f"of a {len(result.pose)}-frame file at {result.fps:g} fps",
                **where)
  if np.isnan(pose).all():
    raise _Skip("empty clip", "every joint of every frame is missing",
                **where)
  gloss = row["glosses"].strip()
  return Clip(
      line=line, split=split, lang=lang,
      spoken_language=row["spoken_language"].strip(),
      record=skels.Record(id=_clip_id(row), text=text, pose=pose,
                          gloss=gloss or None),
      fps=result.fps, layout=result.layout,
      num_nan_points=result.num_nan_points,
      dropped_dims=result.dropped_dims)


def _open(index_csv: pathlib.Path):
  try:
    return index_csv.open(newline="", encoding="utf-8")
  except OSError as e:
    raise FormatError(f"cannot read the index: {e.strerror}",
                      path=index_csv) from None


def _columns(reader: csv.DictReader, index_csv) -> list[str]:
  try:
    columns = reader.fieldnames or []
  except UnicodeDecodeError as e:
    raise FormatError(f"not UTF-8 ({e.reason})", path=index_csv) from None
  missing = [c for c in REQUIRED_COLUMNS if c not in columns]
  if missing:
    raise FormatError(f"index lacks columns {missing} (has {columns}; "
                      f"expected {list(REQUIRED_COLUMNS)})", path=index_csv,
                      line=1)
  return list(columns)


def check_index(index_csv: str | os.PathLike) -> list[str]:
  """The index's columns; FormatError if it cannot be read as an index."""
  index_csv = pathlib.Path(index_csv)
  with _open(index_csv) as f:
    return _columns(csv.DictReader(f), index_csv)


def iter_index(index_csv: str | os.PathLike, *, split: str | None = None,
               lang_map: Mapping[str, str] | None = None,
               on_error: str = "skip", report: IndexReport | None = None,
               **read_kwargs) -> Iterator[Clip | skels.SkippedExample]:
  """Yields each row of the index as a `Clip` or a `SkippedExample`.

  Args:
    index_csv: the CSV (paths in it are relative to its folder).
    split: only rows of this split (the `split` column, else "train"); rows
      of other splits are neither read nor counted.
    lang_map: signed_language -> Prompt2Sign code (default
      `SIGNED_LANGUAGES`); rows of other languages are skipped, reported.
    on_error: "skip" (yield a SkippedExample) or "raise" (the first bad row
      raises FormatError).
    report: an `IndexReport` to update as rows go by.
    **read_kwargs: passed to `pose_io.read_pose` (person, z_fill, ...).

  Raises:
    FormatError: the CSV is missing, not UTF-8 or lacks a required column
      (never skipped: no row can be trusted then).
  """
  if on_error not in ("raise", "skip"):
    raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
  index_csv = pathlib.Path(index_csv)
  lang_map = dict(SIGNED_LANGUAGES if lang_map is None else lang_map)
  for code in lang_map.values():
    languages.lang_index(code)
  seen = {}
  with _open(index_csv) as f:
    reader = csv.DictReader(f)
    columns = _columns(reader, index_csv)
    while True:
      try:
        row = next(reader)
      except StopIteration:
        break
      except (UnicodeDecodeError, csv.Error) as e:
        raise FormatError(f"unreadable CSV row ({e})", path=index_csv,
                          line=reader.line_num) from None
      line = reader.line_num
      row_split = (row.get("split") or "train").strip()
      if split is not None and row_split != split:
        continue
      where = {"path": index_csv, "line": line}
      clip_id = None
      try:
        if None in row or any(row[c] is None for c in REQUIRED_COLUMNS):
          raise _Skip("bad row", f"{len(columns)} columns expected, the row "
                      "has a different number", **where)
        clip_id = _clip_id(row)
        _lang(row, lang_map, where)
        if clip_id in seen:
          raise _Skip("duplicate", f"duplicate clip {clip_id!r} (first on "
                      f"line {seen[clip_id]})", **where)
        item = _read_row(index_csv.parent, row, where, lang_map, row_split,
                         line, **read_kwargs)
        seen[clip_id] = line
        kind = ""
      except _Skip as e:
        if on_error == "raise":
          raise FormatError(e.problem, path=e.path, line=e.line) from None
        item, kind = skels.SkippedExample(line, clip_id, str(e)), e.kind
      if report is not None:
        report.add(item, kind)
      yield item
