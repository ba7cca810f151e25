"""The 2025 Prompt2Sign DWPose variant: 385 values per frame.

Same line-aligned layout as `.skels` (`{split}.skels/.text/.files[/.gloss]`,
one clip per line, frames concatenated), but each frame is
  [  0: 36] 18 body points (x, y), OpenPose COCO-18 order
  [ 36: 54] 18 body scores
  [ 54:138] 42 hand points (x, y): 21 left hand, then 21 right hand
  [138:180] 42 hand scores
  [180:316] 68 face points (x, y)
  [316:384] 68 face scores
  [384]     counter idx / (T - 1) (0 for a one-frame clip)
with image coordinates in [0, 1] (y down) and 8 decimals (PAPER.md). DWPose
marks an undetected point with coordinates -1.

Mapping to the 50 internal joints (every one of them exists in DWPose):
- body 0-7: COCO-18 0 nose, 1 neck, 2 R shoulder, 3 R elbow, 4 R wrist,
  5 L shoulder, 6 L elbow, 7 L wrist are BODY_25 0-7 one to one; the hips,
  legs, eyes and ears (8-17) and the face are dropped.
- hands: DWPose's first hand is the signer's left (COCO-WholeBody order), in
  OpenPose hand order, so it maps to joints 8-28 and the second to 29-49.
- x, y stay image coordinates (divisor 1: no rescaling, no centring); z is
  unknown: `z_fill` (default 0.0, a flat skeleton in the image plane, so 3D
  code and renderers work; pass NaN to mark it unknown instead).
- a point whose score is below `min_score` (default 0.3, DWPose's own
  visibility threshold) or whose coordinates are -1 is missing: NaN joint.
The raw 385-value form round-trips byte for byte (`read_raw_split`,
`write_raw_split`).
"""

import dataclasses
import os
import pathlib
from typing import Iterable, Iterator

import numpy as np
import tqdm

from signllm_jax import skeleton
from signllm_jax.data import errors
from signllm_jax.data import skels

FormatError = errors.FormatError

NUM_BODY = 18
NUM_HAND_POINTS = 42
NUM_FACE = 68
FRAME_DIM = 3 * (NUM_BODY + NUM_HAND_POINTS + NUM_FACE) + 1  # 385
DECIMALS = 8
BODY_XY = slice(0, 36)
BODY_SCORE = slice(36, 54)
HAND_XY = slice(54, 138)
HAND_SCORE = slice(138, 180)
FACE_XY = slice(180, 316)
FACE_SCORE = slice(316, 384)
LAYOUT = ("18 body xy + 18 scores + 42 hand xy + 42 scores + 68 face xy + "
          "68 scores + counter")
CONVENTION = "dwpose"

# Internal body joint j is DWPose body point j (COCO-18 0-7 == BODY_25 0-7).
UNMAPPED_JOINTS: tuple[str, ...] = ()  # all 50 joints exist in DWPose


@dataclasses.dataclass
class RawRecord:
  id: str
  text: str
  frames: np.ndarray  # [T, 385] float64, file values
  gloss: str | None = None


def counter(num_frames: int) -> np.ndarray:
  if num_frames == 1:
    return np.zeros(1)
  return np.arange(num_frames) / (num_frames - 1)


def parse_frames(text: str, *, path=None, line: int | None = None
                 ) -> np.ndarray:
  """One line -> `frames_Tx385` float64; FormatError for bad values/counter."""
  frames = skels.parse_frames(text, path=path, line=line,
                              frame_dim=FRAME_DIM, layout=LAYOUT)
  expected = counter(len(frames))
  off = np.abs(frames[:, -1] - expected) > 0.5 * 10.0 ** -DECIMALS + 1e-12
  if off.any():
    t = int(np.argmax(off))
    raise FormatError(
        f"counter {frames[t, -1]:.8f} where idx/(T-1) = {expected[t]:.8f} "
        f"(T = {len(frames)})", path=path, line=line, frame=t,
        value=FRAME_DIM - 1)
  return frames


def format_frames(frames_Tx385: np.ndarray) -> str:
  frames = np.asarray(frames_Tx385, np.float64)
  if frames.ndim != 2 or frames.shape[1] != FRAME_DIM or not len(frames):
    raise ValueError(f"expected [T>0, {FRAME_DIM}] DWPose frames, got "
                     f"{frames.shape}")
  if not np.isfinite(frames).all():
    raise ValueError("DWPose frames must be finite (missing points are -1)")
  fmt = " ".join([f"%.{DECIMALS}f"] * FRAME_DIM)
  return " ".join(fmt % tuple(row) for row in frames.tolist())


def _hand_and_body(frames_Tx385):
  num_frames = len(frames_Tx385)
  body_xy = frames_Tx385[:, BODY_XY].reshape(num_frames, NUM_BODY, 2)
  hand_xy = frames_Tx385[:, HAND_XY].reshape(num_frames, NUM_HAND_POINTS, 2)
  xy = np.concatenate([body_xy[:, :skeleton.NUM_BODY], hand_xy], axis=1)
  score = np.concatenate([frames_Tx385[:, BODY_SCORE][:, :skeleton.NUM_BODY],
                          frames_Tx385[:, HAND_SCORE]], axis=1)
  return xy, score


def to_internal(frames_Tx385: np.ndarray, *, min_score: float = 0.3,
                z_fill: float = 0.0) -> np.ndarray:
  """DWPose file values -> internal `pose_TxJx3` float32 (see module doc)."""
  frames = np.asarray(frames_Tx385, np.float64)
  xy, score = _hand_and_body(frames)
  pose = np.concatenate([xy, np.full(xy.shape[:2] + (1,), z_fill)], axis=-1)
  missing = (score < min_score) | np.all(xy == -1, axis=-1)
  pose[missing] = np.nan
  return pose.astype(np.float32)


def from_internal(pose_TxJx3: np.ndarray, *, score: float = 1.0
                  ) -> np.ndarray:
  """Internal pose (x, y in image units) -> DWPose file values.

  The points the 50 joints lack (hips, legs, eyes, ears, face) and NaN joints
  are written as DWPose writes undetected points: coordinates -1, score 0;
  the others get `score`. z is dropped.
  """
  pose = np.asarray(pose_TxJx3, np.float64)
  if pose.ndim != 3 or pose.shape[1:] != (skeleton.NUM_JOINTS, 3):
    raise ValueError(f"expected [T, {skeleton.NUM_JOINTS}, 3], got "
                     f"{pose.shape}")
  num_frames = len(pose)
  frames = np.zeros((num_frames, FRAME_DIM))
  body_xy = np.full((num_frames, NUM_BODY, 2), -1.0)
  body_score = np.zeros((num_frames, NUM_BODY))
  xy = pose[..., :2]
  present = ~np.isnan(xy).any(axis=-1)
  xy = np.where(present[..., None], xy, -1.0)
  body_xy[:, :skeleton.NUM_BODY] = xy[:, :skeleton.NUM_BODY]
  body_score[:, :skeleton.NUM_BODY] = np.where(
      present[:, :skeleton.NUM_BODY], score, 0.0)
  frames[:, BODY_XY] = body_xy.reshape(num_frames, -1)
  frames[:, BODY_SCORE] = body_score
  frames[:, HAND_XY] = xy[:, skeleton.NUM_BODY:].reshape(num_frames, -1)
  frames[:, HAND_SCORE] = np.where(present[:, skeleton.NUM_BODY:], score, 0.0)
  frames[:, FACE_XY] = -1.0
  frames[:, -1] = counter(num_frames)
  return frames


def read_raw_split(directory: str | os.PathLike, split: str, *,
                   on_error: str = "raise", progress: bool = False
                   ) -> tuple[list[RawRecord], list[skels.SkippedExample]]:
  """Reads a DWPose split as raw 385-value frames (for lossless round trips)."""
  if on_error not in ("raise", "skip"):
    raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
  paths, lines, num_lines = skels.read_parallel_lines(directory, split)
  records, skipped, seen = [], [], {}
  for i in tqdm.tqdm(range(num_lines), desc=f"{split}.skels (dwpose)",
                     disable=not progress):
    clip_id = None
    try:
      clip_id, text, gloss, line = skels.example_fields(paths, lines, i, seen)
      frames = parse_frames(line, path=paths["skels"], line=i + 1)
    except FormatError as e:
      if on_error == "raise":
        raise
      skipped.append(skels.SkippedExample(i + 1, clip_id, str(e)))
      continue
    seen[clip_id] = i + 1
    records.append(RawRecord(clip_id, text, frames, gloss))
  return records, skipped


def iter_split(directory: str | os.PathLike, split: str, *,
               on_error: str = "raise", min_score: float = 0.3,
               z_fill: float = 0.0, state: skels.SplitState | None = None
               ) -> Iterator[skels.Record | skels.SkippedExample]:
  """`read_split` one line at a time (memory: one line of each file).

  `state` (a `skels.SplitState`) counts lines, reads and skips; its
  convention stays None (DWPose has one, `CONVENTION`).
  """
  if on_error not in ("raise", "skip"):
    raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
  state = skels.SplitState() if state is None else state
  paths, _, lines = skels.iter_parallel_lines(directory, split)
  for line_no, raw in enumerate(lines, 1):
    yield step(state, paths, raw, line_no, on_error, min_score=min_score,
               z_fill=z_fill)


def step(state: skels.SplitState, paths, raw: dict[str, bytes],
         line_no: int, on_error: str, *, min_score: float = 0.3,
         z_fill: float = 0.0) -> skels.Record | skels.SkippedExample:
  """One line of a DWPose split -> Record, or SkippedExample (counted)."""
  state.num_lines += 1
  clip_id = None
  try:
    clip_id, text, gloss, line = skels.example_fields_of(
        paths, raw, line_no, state.seen)
    frames = parse_frames(line, path=paths["skels"], line=line_no)
  except FormatError as e:
    if on_error == "raise":
      raise
    skip = skels.SkippedExample(line_no, clip_id, str(e))
    state.skipped.append(skip)
    return skip
  state.seen[clip_id] = line_no
  state.num_read += 1
  return skels.Record(clip_id, text, to_internal(
      frames, min_score=min_score, z_fill=z_fill), gloss)


def read_split(directory: str | os.PathLike, split: str, *,
               on_error: str = "raise", min_score: float = 0.3,
               z_fill: float = 0.0, progress: bool = False
               ) -> skels.ReadResult:
  """Reads a DWPose split into internal records (convention "dwpose")."""
  raw, skipped = read_raw_split(directory, split, on_error=on_error,
                                progress=progress)
  records = [skels.Record(r.id, r.text, to_internal(
      r.frames, min_score=min_score, z_fill=z_fill), r.gloss) for r in raw]
  return skels.ReadResult(records=records, convention=CONVENTION,
                          skipped=skipped,
                          num_lines=len(records) + len(skipped),
                          neck_centred=False)


def write_raw_split(directory: str | os.PathLike, split: str,
                    records: Iterable[RawRecord]) -> dict[str, pathlib.Path]:
  records = list(records)
  columns = {"skels": [format_frames(r.frames) for r in records],
             "text": [r.text for r in records],
             "files": [r.id for r in records]}
  if any(r.gloss is not None for r in records):
    columns["gloss"] = [r.gloss or "" for r in records]
  return skels.write_lines(directory, split, columns)


def write_split(directory: str | os.PathLike, split: str,
                records: Iterable[skels.Record], *, score: float = 1.0
                ) -> dict[str, pathlib.Path]:
  """Writes internal records (x, y in image units) in the DWPose form."""
  return write_raw_split(directory, split, [
      RawRecord(r.id, r.text, from_internal(r.pose, score=score), r.gloss)
      for r in records])
