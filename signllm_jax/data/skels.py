"""The line-aligned `.skels` layout (Progressive Transformers / Prompt2Sign v1).

A split is a set of parallel files in one directory, one example per line:
`{split}.skels` (all frames of a clip on one line, space-separated), `{split}.
text` (the sentence), `{split}.files` (the clip id) and, optionally, `{split}.
gloss`. A frame is 151 numbers: 50 joints x (x, y, z), then a counter.

Two value conventions exist (see `CONVENTIONS`); readers return the internal
convention (`pose_TxJx3` float32 in skeleton units = file value x divisor,
missing joints NaN, no counter) and report which file convention they saw.

Decisions (the file formats leave these open):
- Prompt2Sign writes an exact 0 or a NaN as the sentinel `0.01600`. On read, a
  joint whose three values are all the sentinel is missing (NaN); a sentinel
  value in a joint with other, real values is an exact 0. On write, NaN and
  exact 0 become the sentinel. So NaN joints and zeros round-trip; a joint with
  only some NaN coordinates, or whose coordinates are all 0, does not (it
  comes back as 0s, resp. NaN), and neither does a real value of exactly
  0.016 x 9 = 0.144 (it comes back as 0).
- Prompt2Sign never writes an exact 0, so a printed `0.00000` there is a
  value that rounded to zero: it is read as +-1e-30 (sign kept), which writes
  back as `0.00000` rather than as the sentinel. Files round-trip byte for
  byte.
- The PT files in the wild (PHOENIX14T) write coordinates with 5 decimals and
  the counter with 4; the `pt` convention does the same. PT has no missing-
  value marker: writing a NaN there is an error.
- Mismatched line counts across the parallel files and a declared convention
  that contradicts the data always raise; every other problem is one bad
  example, which `on_error="skip"` skips and lists.

This module is long on purpose: the sequence codec, the split reader (in
memory and streamed, sharing `SplitState`) and the writer of one format stay
together so that they cannot drift apart.
"""

import contextlib
import dataclasses
import os
import pathlib
import re
from typing import Iterable, Iterator, Sequence

import numpy as np
import tqdm

from signllm_jax import skeleton
from signllm_jax.data import errors

FormatError = errors.FormatError

SENTINEL = 0.016
# What a printed zero becomes in Prompt2Sign files (see the module docstring).
PRINTED_ZERO = 1e-30


@dataclasses.dataclass(frozen=True)
class Convention:
  """How a source scales, rounds and counts (PAPER.md: pose representation)."""
  name: str
  divisor: float  # file value = internal value / divisor
  decimals: int  # of the 150 joint values
  counter_decimals: int
  counter_start: int  # counter of frame i (0-based) is (i + start) / T
  neck_centred: bool  # a property of the source; readers never re-centre
  sentinel: float | None  # written for NaN and exact 0; None: NaN is an error

  def counter(self, num_frames: int) -> np.ndarray:
    """The file counter of each of `num_frames` frames, float64."""
    return (np.arange(num_frames) + self.counter_start) / num_frames


PROMPT2SIGN = Convention("prompt2sign", divisor=9.0, decimals=5,
                         counter_decimals=5, counter_start=1,
                         neck_centred=False, sentinel=SENTINEL)
PT = Convention("pt", divisor=3.0, decimals=5, counter_decimals=4,
                counter_start=0, neck_centred=True, sentinel=None)
CONVENTIONS = {c.name: c for c in (PROMPT2SIGN, PT)}


def get_convention(convention: str | Convention) -> Convention:
  if isinstance(convention, Convention):
    return convention
  try:
    return CONVENTIONS[convention]
  except KeyError:
    raise ValueError(f"unknown convention {convention!r}; known: "
                     f"{', '.join(CONVENTIONS)}") from None


@dataclasses.dataclass
class Record:
  id: str
  text: str
  pose: np.ndarray  # [T, 50, 3] float32, internal convention
  gloss: str | None = None


@dataclasses.dataclass(frozen=True)
class SkippedExample:
  line: int  # 1-based line number in the split's files
  id: str | None  # the clip id when it could be read
  reason: str  # the FormatError message


@dataclasses.dataclass
class ReadResult:
  records: list[Record]
  convention: str  # detected or declared; "unknown" for a split with no data
  skipped: list[SkippedExample]
  num_lines: int  # == len(records) + len(skipped)
  neck_centred: bool  # joint 1 is exactly 0,0,0 in every frame read


# --------------------------------------------------------------------------
# One sequence: text <-> file values <-> internal pose.

_NUMBER_CHARS = re.compile(r"[^0-9eE+\-.\s]")


def _value_error(problem: str, index: int, path, line,
                 frame_dim: int) -> FormatError:
  frame, value = divmod(index, frame_dim)
  if value == frame_dim - 1:
    problem += " (counter)"
  elif frame_dim == skeleton.FRAME_DIM:
    problem += f" (joint {value // 3} {'xyz'[value % 3]})"
  return FormatError(problem, path=path, line=line, frame=frame, value=value)


def parse_frames(text: str, *, path=None, line: int | None = None,
                 frame_dim: int = skeleton.FRAME_DIM,
                 layout: str = "50 joints x xyz + counter") -> np.ndarray:
  """One `.skels` line -> file values `frames_TxF` float64 (F = frame_dim).

  Raises FormatError for an empty line, a count that is not a multiple of
  `frame_dim`, a token that is not a plain decimal number, and NaN/inf.
  """
  bad = _NUMBER_CHARS.search(text)
  tokens = text.split()
  if not tokens:
    raise FormatError("empty sequence (no values on the line)", path=path,
                      line=line)
  if bad is not None:
    index = next(i for i, t in enumerate(tokens) if _NUMBER_CHARS.search(t))
    token = tokens[index]
    problem = (f"non-finite value {token!r}" if token.lower().lstrip("+-")
               in ("nan", "inf", "infinity") else
               f"not a number: {token[:40]!r}")
    raise _value_error(problem, index, path, line, frame_dim)
  if len(tokens) % frame_dim:
    raise FormatError(
        f"{len(tokens)} values is not a multiple of {frame_dim} ({layout}): "
        f"{len(tokens) // frame_dim} whole frames and "
        f"{len(tokens) % frame_dim} values left over", path=path, line=line)
  try:
    values = np.asarray(tokens, dtype=np.float64)
  except ValueError:
    for index, token in enumerate(tokens):
      try:
        float(token)
      except ValueError:
        raise _value_error(f"not a number: {token[:40]!r}", index, path,
                           line, frame_dim) from None
    raise  # numpy refused something float() accepts: not expected
  finite = np.isfinite(values)
  if not finite.all():
    index = int(np.argmin(finite))
    raise _value_error(f"non-finite value {tokens[index]!r}", index, path,
                       line, frame_dim)
  return values.reshape(-1, frame_dim)


def counter_pattern(frames_TxF: np.ndarray) -> str | None:
  """Which convention's counter a sequence follows, or None if neither."""
  num_frames = frames_TxF.shape[0]
  counter = frames_TxF[:, -1]
  for conv in CONVENTIONS.values():
    tolerance = 0.5 * 10.0 ** -conv.counter_decimals + 1e-9
    if np.all(np.abs(counter - conv.counter(num_frames)) <= tolerance):
      return conv.name
  return None


def detect_convention(frames_TxF: np.ndarray) -> str:
  """The convention of one sequence's file values, from its counter.

  The first counter tells the two apart: 0 (PT, i/T for i = 0..T-1) or 1/T
  (Prompt2Sign, i = 1..T); the whole column must then follow that pattern.
  Neck-centring is reported separately (`is_neck_centred`): it is a property
  of a source, not proof of a convention. Raises FormatError otherwise.
  """
  found = counter_pattern(frames_TxF)
  if found is None:
    counter = frames_TxF[:, -1]
    raise FormatError(
        f"counter column follows neither convention: first {counter[0]:g}, "
        f"last {counter[-1]:g} over {len(counter)} frames (pt: i/T for "
        "i=0..T-1; prompt2sign: i/T for i=1..T)")
  return found


def is_neck_centred(frames_TxF: np.ndarray) -> bool:
  neck = skeleton.NECK * 3
  return bool(np.all(frames_TxF[:, neck:neck + 3] == 0))


def decode_frames(frames_TxF: np.ndarray,
                  convention: str | Convention) -> np.ndarray:
  """File values -> internal `pose_TxJx3` float32 (the counter is dropped)."""
  conv = get_convention(convention)
  values = frames_TxF[:, :skeleton.POSE_DIM].reshape(
      -1, skeleton.NUM_JOINTS, 3).astype(np.float64)
  pose = values * conv.divisor
  if conv.sentinel is not None:
    printed_zero = values == 0
    pose[printed_zero] = np.copysign(PRINTED_ZERO, values[printed_zero])
    is_sentinel = values == conv.sentinel
    pose[is_sentinel] = 0.0
    pose[is_sentinel.all(axis=-1)] = np.nan
  return pose.astype(np.float32)


def encode_frames(pose_TxJx3: np.ndarray, convention: str | Convention,
                  *, where: str = "pose") -> np.ndarray:
  """Internal pose -> file values `frames_TxF` float64, counter included."""
  conv = get_convention(convention)
  pose = np.asarray(pose_TxJx3)
  if pose.ndim != 3 or pose.shape[1:] != (skeleton.NUM_JOINTS, 3):
    raise ValueError(f"{where}: expected shape [T, {skeleton.NUM_JOINTS}, 3],"
                     f" got {pose.shape}")
  if pose.shape[0] == 0:
    raise ValueError(f"{where}: empty sequence (0 frames)")
  values = pose.astype(np.float64) / conv.divisor
  if np.isinf(values).any():
    t, j, _ = np.argwhere(np.isinf(values))[0]
    raise ValueError(f"{where}: infinite value at frame {t}, joint {j}")
  missing = np.isnan(values)
  if conv.sentinel is None:
    if missing.any():
      t, j, _ = np.argwhere(missing)[0]
      raise ValueError(f"{where}: NaN at frame {t}, joint {j}: the "
                       f"{conv.name!r} convention cannot represent missing "
                       "joints")
  else:
    values[missing | (values == 0)] = conv.sentinel
  frames = np.empty((pose.shape[0], skeleton.FRAME_DIM), np.float64)
  frames[:, :skeleton.POSE_DIM] = values.reshape(pose.shape[0], -1)
  frames[:, -1] = conv.counter(pose.shape[0])
  return frames


def _frame_format(conv: Convention) -> str:
  return " ".join([f"%.{conv.decimals}f"] * skeleton.POSE_DIM +
                  [f"%.{conv.counter_decimals}f"])


def format_frames(frames_TxF: np.ndarray, convention: str | Convention) -> str:
  """File values -> one `.skels` line (no newline)."""
  fmt = _frame_format(get_convention(convention))
  return " ".join(fmt % tuple(row) for row in frames_TxF.tolist())


def parse_sequence(text: str, convention: str | Convention, *, path=None,
                   line: int | None = None) -> np.ndarray:
  """One `.skels` line in a known convention -> internal pose."""
  conv = get_convention(convention)
  frames = parse_frames(text, path=path, line=line)
  found = counter_pattern(frames)
  if found != conv.name:
    raise FormatError(
        f"counter column does not follow the {conv.name!r} convention "
        f"(looks like {found or 'neither'}; first counter "
        f"{frames[0, -1]:g})", path=path, line=line)
  return decode_frames(frames, conv)


def format_sequence(pose_TxJx3: np.ndarray,
                    convention: str | Convention) -> str:
  """Internal pose -> one `.skels` line (no newline)."""
  return format_frames(encode_frames(pose_TxJx3, convention), convention)


def neck_centre(pose_TxJx3: np.ndarray) -> np.ndarray:
  """Subtract the neck from every joint (what PT sources did before writing)."""
  return pose_TxJx3 - pose_TxJx3[:, skeleton.NECK:skeleton.NECK + 1]


# --------------------------------------------------------------------------
# Whole splits.

_EXTENSIONS = ("skels", "text", "files", "gloss")


def _read_lines(path: pathlib.Path) -> list[bytes]:
  data = path.read_bytes()
  lines = data.split(b"\n")
  if lines[-1] == b"":
    lines.pop()
  return [l[:-1] if l.endswith(b"\r") else l for l in lines]


def _decode(raw: bytes, path, line) -> str:
  try:
    return raw.decode("utf-8")
  except UnicodeDecodeError as e:
    raise FormatError(f"not UTF-8 at byte {e.start}", path=path,
                      line=line) from None


def split_files(directory: str | os.PathLike, split: str
                ) -> dict[str, pathlib.Path]:
  """The split's files that exist, by extension; FormatError if incomplete."""
  directory = pathlib.Path(directory)
  if not directory.is_dir():
    raise FormatError("not a directory", path=directory)
  found = {ext: directory / f"{split}.{ext}" for ext in _EXTENSIONS
           if (directory / f"{split}.{ext}").is_file()}
  missing = [f"{split}.{ext}" for ext in ("skels", "text", "files")
             if ext not in found]
  if missing:
    present = sorted({p.name.split(".")[0] for p in directory.glob("*.skels")})
    raise FormatError(
        f"split {split!r} is incomplete: missing {', '.join(missing)} "
        f"(splits with a .skels file here: {present or 'none'})",
        path=directory)
  return found


def read_parallel_lines(directory: str | os.PathLike, split: str
                        ) -> tuple[dict[str, pathlib.Path],
                                   dict[str, list[bytes]], int]:
  """The split's files, their raw lines by extension, and the line count.

  Raises FormatError when the parallel files have different line counts:
  the alignment of every example is then in doubt, so this is never skipped.
  """
  paths = split_files(directory, split)
  lines = {ext: _read_lines(p) for ext, p in paths.items()}
  counts = {ext: len(v) for ext, v in lines.items()}
  if len(set(counts.values())) > 1:
    raise FormatError(
        "the parallel files have different line counts: " + ", ".join(
            f"{split}.{ext} {n}" for ext, n in counts.items()),
        path=directory)
  return paths, lines, counts["skels"]


def count_lines(path: pathlib.Path, chunk: int = 1 << 20) -> int:
  """What `len(_read_lines(path))` is, in one pass of bounded memory."""
  count, last = 0, b"\n"
  with path.open("rb") as f:
    while block := f.read(chunk):
      count += block.count(b"\n")
      last = block[-1:]
  return count + (last != b"\n")


def iter_parallel_lines(directory: str | os.PathLike, split: str
                        ) -> tuple[dict[str, pathlib.Path], int,
                                   Iterator[dict[str, bytes]]]:
  """`read_parallel_lines` streamed: (paths, line count, lines iterator).

  The counts are checked first (one cheap pass per file), so a mismatch
  raises before any example; then the iterator yields one {ext: raw line}
  at a time, holding one line of each file.
  """
  paths = split_files(directory, split)
  counts = {ext: count_lines(p) for ext, p in paths.items()}
  if len(set(counts.values())) > 1:
    raise FormatError(
        "the parallel files have different line counts: " + ", ".join(
            f"{split}.{ext} {n}" for ext, n in counts.items()),
        path=directory)

  return paths, counts["skels"], iter_line_range(paths)


def iter_line_range(paths: dict[str, pathlib.Path],
                    offsets: dict[str, int] | None = None,
                    num_lines: int | None = None
                    ) -> Iterator[dict[str, bytes]]:
  """{ext: raw line} of the parallel files, from byte `offsets` (default 0)
  for `num_lines` lines (default: to the end), split as `_read_lines` does.
  """
  with contextlib.ExitStack() as stack:
    files = {}
    for ext, p in paths.items():
      files[ext] = stack.enter_context(p.open("rb"))
      files[ext].seek((offsets or {}).get(ext, 0))
    for n, raw in enumerate(zip(*files.values())):
      if num_lines is not None and n >= num_lines:
        return
      # Split on "\n", then drop one trailing "\r".
      raw = [l[:-1] if l.endswith(b"\n") else l for l in raw]
      yield {ext: l[:-1] if l.endswith(b"\r") else l
             for ext, l in zip(files, raw)}


def line_offsets(path: pathlib.Path, every: int) -> list[int]:
  """Byte offsets of lines 0, every, 2 * every, ... (one streamed pass)."""
  if every <= 0:
    raise ValueError(f"every must be positive, got {every}")
  offsets, position = [], 0
  with path.open("rb") as f:
    for n, line in enumerate(f):
      if n % every == 0:
        offsets.append(position)
      position += len(line)
  return offsets


def example_fields_of(paths: dict[str, pathlib.Path], raw: dict[str, bytes],
                      line_no: int, seen: dict[str, int], *,
                      allow_empty_text: bool = False
                      ) -> tuple[str, str, str | None, str]:
  """(id, text, gloss or None, skels line) of one line's raw values.

  Raises FormatError for undecodable, empty or duplicate ids and (unless
  allowed) empty text; `seen` maps ids already read to their line numbers.
  """
  clip_id = _decode(raw["files"], paths["files"], line_no)
  if not clip_id.strip():
    raise FormatError("empty clip id", path=paths["files"], line=line_no)
  if clip_id in seen:
    raise FormatError(f"duplicate clip id {clip_id!r} (first on line "
                      f"{seen[clip_id]})", path=paths["files"], line=line_no)
  text = _decode(raw["text"], paths["text"], line_no)
  if not text.strip() and not allow_empty_text:
    # `signllm data convert` writes "" for clips whose sentence is unknown.
    raise FormatError("empty text (pass allow_empty_text=True to read clips "
                      "without a sentence)", path=paths["text"], line=line_no)
  gloss = (_decode(raw["gloss"], paths["gloss"], line_no)
           if "gloss" in raw else None)
  skels_line = _decode(raw["skels"], paths["skels"], line_no)
  return clip_id, text, gloss, skels_line


def example_fields(paths: dict[str, pathlib.Path],
                   lines: dict[str, list[bytes]], index: int,
                   seen: dict[str, int], *, allow_empty_text: bool = False
                   ) -> tuple[str, str, str | None, str]:
  """`example_fields_of` for line `index` (0-based) of read lines."""
  return example_fields_of(paths, {k: v[index] for k, v in lines.items()},
                           index + 1, seen, allow_empty_text=allow_empty_text)


class SplitState:
  """The per-split state of reading line after line (convention, ids, ...).

  `read_split` and `iter_split` share it, so the in-memory and the streamed
  reader decide every line alike.
  """

  def __init__(self, convention: str = "auto", *,
               allow_empty_text: bool = False, detected: str | None = None):
    # `detected`: the convention earlier lines set (a shard of a split read
    # elsewhere); lines of another convention are then bad lines.
    if convention != "auto":
      get_convention(convention)
    self.convention = None if convention == "auto" else convention
    self._declared_checked = convention == "auto"
    if detected is not None:
      get_convention(detected)
      self.convention, self._declared_checked = detected, True
    self._allow_empty_text = allow_empty_text
    self.seen = {}
    self.neck_centred = True
    self.num_lines = 0
    self.num_read = 0
    self.skipped: list[SkippedExample] = []
    self._last_id = None

  def parse(self, paths, raw: dict[str, bytes], line_no: int) -> Record:
    """One line -> a Record; FormatError (ConventionError: never skip)."""
    self._last_id = None
    clip_id, text, gloss, skels_line = example_fields_of(
        paths, raw, line_no, self.seen,
        allow_empty_text=self._allow_empty_text)
    self._last_id = clip_id  # what a skip of this line reports
    frames = parse_frames(skels_line, path=paths["skels"], line=line_no)
    found = counter_pattern(frames)
    if found is None:
      raise FormatError(
          "counter column follows neither convention (first "
          f"{frames[0, -1]:g}, last {frames[-1, -1]:g} over "
          f"{len(frames)} frames; pt: i/T for i=0..T-1, prompt2sign: i/T "
          "for i=1..T)", path=paths["skels"], line=line_no)
    if self.convention is None:
      self.convention = found
    elif found != self.convention:
      if not self._declared_checked:
        raise errors.ConventionError(
            f"declared convention {self.convention!r} but the counter "
            f"follows {found!r} (first counter {frames[0, -1]:g})",
            path=paths["skels"], line=line_no)
      raise FormatError(
          f"counter follows {found!r} but the split is {self.convention!r} "
          f"(first counter {frames[0, -1]:g})", path=paths["skels"],
          line=line_no)
    self._declared_checked = True
    pose = decode_frames(frames, self.convention)
    self.seen[clip_id] = line_no
    self.neck_centred = self.neck_centred and is_neck_centred(frames)
    return Record(id=clip_id, text=text, pose=pose, gloss=gloss)

  def step(self, paths, raw: dict[str, bytes], line_no: int,
           on_error: str) -> Record | SkippedExample:
    """`parse` that counts and, with on_error="skip", skips bad lines."""
    self.num_lines += 1
    try:
      record = self.parse(paths, raw, line_no)
    except errors.ConventionError:
      raise
    except FormatError as e:
      if on_error == "raise":
        raise
      skip = SkippedExample(line_no, self._last_id, str(e))
      self.skipped.append(skip)
      return skip
    self.num_read += 1
    return record

  def result(self, records: list[Record]) -> ReadResult:
    assert self.num_read + len(self.skipped) == self.num_lines
    return ReadResult(records=records,
                      convention=self.convention or "unknown",
                      skipped=self.skipped, num_lines=self.num_lines,
                      neck_centred=self.neck_centred and self.num_read > 0)


def _check_on_error(on_error: str) -> None:
  if on_error not in ("raise", "skip"):
    raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")


def read_split(directory: str | os.PathLike, split: str, *,
               convention: str = "auto", on_error: str = "raise",
               progress: bool = False,
               allow_empty_text: bool = False) -> ReadResult:
  """Reads `{directory}/{split}.skels/.text/.files[/.gloss]`.

  Args:
    directory: the folder holding the split's files.
    split: e.g. "train"; `{split}.gloss` is optional.
    convention: "auto" (detected from the first sequence's counter), "pt" or
      "prompt2sign". A declared convention the first sequence contradicts
      raises ConventionError whatever `on_error` says.
    on_error: "raise" (the first bad example raises FormatError) or "skip"
      (bad examples are left out and listed in `.skipped`).
    progress: show a progress bar.
    allow_empty_text: accept lines whose text is empty (e.g. converted clips
      with no known sentence) instead of treating them as bad examples.

  Returns:
    ReadResult; `len(records) + len(skipped) == num_lines` always. The whole
    split is in memory: `iter_split` streams it.
  """
  _check_on_error(on_error)
  state = SplitState(convention, allow_empty_text=allow_empty_text)
  paths, lines, num_lines = read_parallel_lines(directory, split)
  records = []
  for i in tqdm.tqdm(range(num_lines), desc=f"{split}.skels",
                     disable=not progress):
    item = state.step(paths, {k: v[i] for k, v in lines.items()}, i + 1,
                      on_error)
    if isinstance(item, Record):
      records.append(item)
  return state.result(records)


def iter_split(directory: str | os.PathLike, split: str, *,
               convention: str = "auto", on_error: str = "raise",
               allow_empty_text: bool = False,
               state: SplitState | None = None
               ) -> Iterator[Record | SkippedExample]:
  """`read_split` one line at a time: yields each Record or SkippedExample.

  Memory holds one line of each file. Pass a `SplitState` (built with the
  same convention and allow_empty_text) to read the detected convention,
  neck-centring and counts once the iterator is exhausted
  (`state.result([])` gives them as a ReadResult without records).
  """
  _check_on_error(on_error)
  if state is None:
    state = SplitState(convention, allow_empty_text=allow_empty_text)
  paths, _, lines = iter_parallel_lines(directory, split)
  for line_no, raw in enumerate(lines, 1):
    yield state.step(paths, raw, line_no, on_error)


def write_lines(directory: str | os.PathLike, split: str,
                columns: dict[str, list[str]]) -> dict[str, pathlib.Path]:
  """Writes `{split}.{ext}` for each column: one line each, "\n"-terminated."""
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  written = {}
  for ext, column in columns.items():
    for n, value in enumerate(column):
      if "\n" in value or "\r" in value:
        raise ValueError(f"{split}.{ext} entry {n}: contains a line break")
    path = directory / f"{split}.{ext}"
    path.write_bytes("".join(l + "\n" for l in column).encode("utf-8"))
    written[ext] = path
  return written


def write_split(directory: str | os.PathLike, split: str,
                records: Iterable[Record], *, convention: str | Convention,
                progress: bool = False) -> dict[str, pathlib.Path]:
  """Writes records as `{split}.skels/.text/.files` (+ `.gloss` if any has one).

  Coordinates are written as given (no re-centring: see `neck_centre`).
  Records with `gloss=None` get an empty `.gloss` line when others have one.
  Returns the written paths by extension.
  """
  conv = get_convention(convention)
  records: Sequence[Record] = list(records)
  has_gloss = any(r.gloss is not None for r in records)
  columns = {"skels": [], "text": [], "files": []}
  if has_gloss:
    columns["gloss"] = [r.gloss or "" for r in records]
  for n, r in enumerate(tqdm.tqdm(records, desc=f"{split}.skels",
                                  disable=not progress)):
    columns["files"].append(r.id)
    columns["text"].append(r.text)
    columns["skels"].append(format_frames(
        encode_frames(r.pose, conv, where=f"record {n} (id {r.id!r})"), conv))
  return write_lines(directory, split, columns)
