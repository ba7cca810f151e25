"""Reading one clip of OpenPose JSON (one file per frame) into 50 2D joints.

Step 1 of the authors' video-keypoint pipeline (PAPER.md): keep BODY_25
joints 0-7, then the 21 left-hand and 21 right-hand points, each as
(x, y, confidence) in pixels; the face is ignored.

Decisions, matching the authors' `pipeline_demo_01_json2h5.py` where they
made one:
- Frames are ordered by the frame number in the file name
  (`..._000000000012_keypoints.json`), not by the file-name string.
- A frame with no person, or whose joint 0 (nose) has x == 0, is dropped
  (the authors' rule) and listed in `OpenPoseClip.dropped` with the reason;
  a gap in the frame numbers is listed there too. Nothing is lost silently.
- Several people in a frame: `people[0]` is used (as the authors do) and the
  frame is listed in `OpenPoseClip.multi_person`.
- A hand that is absent, `null` or an empty list gets zero confidence (and
  x = y = 0, as OpenPose writes undetected points); any other count than
  21 x 3 values is an error. The body must have exactly 25 x 3 values.
- Any malformed file raises `errors.FormatError` naming the file.
"""

import dataclasses
import json
import math
import os
import pathlib
import re

import numpy as np

from signllm_jax import skeleton
from signllm_jax.data import errors

BODY25_VALUES = 25 * 3
HAND_VALUES = skeleton.NUM_HAND * 3
_FRAME_NUMBER = re.compile(r"(\d+)(?:_keypoints)?\.json$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class OpenPoseClip:
  """One clip's kept frames, in frame-number order.

  Attributes:
    xyc_TxJx3: float32 [T, 50, 3]: x, y (pixels) and confidence per joint.
    frame_names: file name of each kept frame (length T).
    dropped: (file name or "frame N", reason) for every frame not kept.
    multi_person: file names of kept frames with more than one person
      (people[0] was used).
    num_files: JSON files read (kept + dropped, not counting gaps).
  """
  xyc_TxJx3: np.ndarray
  frame_names: tuple[str, ...]
  dropped: tuple[tuple[str, str], ...]
  multi_person: tuple[str, ...] = ()
  num_files: int = 0

  @property
  def num_frames(self) -> int:
    return self.xyc_TxJx3.shape[0]


def _keypoints(person: dict, key: str, count: int, path: pathlib.Path,
               optional: bool) -> np.ndarray:
  values = person.get(key)
  if values is None or (optional and isinstance(values, list) and
                        not values):
    if optional:
      return np.zeros((count // 3, 3), np.float32)
    raise errors.FormatError(f"people[0] has no '{key}'", path=path)
  if not isinstance(values, list) or len(values) != count:
    got = len(values) if isinstance(values, list) else type(values).__name__
    raise errors.FormatError(
        f"'{key}' must hold {count} values ({count // 3} points x (x, y, "
        f"confidence)), got {got}", path=path)
  for i, v in enumerate(values):
    if (not isinstance(v, (int, float)) or isinstance(v, bool)
        or not math.isfinite(v)):
      raise errors.FormatError(f"'{key}' value {i} is {v!r}, not a finite "
                               "number", path=path)
  return np.asarray(values, np.float32).reshape(-1, 3)


def read_openpose_frame(path: str | os.PathLike) -> tuple[
    np.ndarray | None, str | None, int]:
  """Reads one frame file.

  Returns:
    (xyc_Jx3 or None, reason it is dropped or None, number of people).
  """
  path = pathlib.Path(path)
  try:
    with open(path, encoding="utf-8") as f:
      data = json.load(f)
  except json.JSONDecodeError as e:
    raise errors.FormatError(f"invalid JSON: {e.msg}", path=path,
                             line=e.lineno) from e
  except UnicodeDecodeError as e:
    raise errors.FormatError(f"not UTF-8 text: {e}", path=path) from e
  if not isinstance(data, dict) or not isinstance(data.get("people"), list):
    raise errors.FormatError("not an OpenPose frame: expected an object with "
                             "a 'people' list", path=path)
  people = data["people"]
  if not people:
    return None, "no person detected", 0
  person = people[0]
  if not isinstance(person, dict):
    raise errors.FormatError("people[0] is not an object", path=path)
  body = _keypoints(person, "pose_keypoints_2d", BODY25_VALUES, path, False)
  left = _keypoints(person, "hand_left_keypoints_2d", HAND_VALUES, path, True)
  right = _keypoints(person, "hand_right_keypoints_2d", HAND_VALUES, path,
                     True)
  xyc_Jx3 = np.concatenate([body[:skeleton.NUM_BODY], left, right])
  if xyc_Jx3[0, 0] == 0:
    return None, "joint 0 (nose) missing: x == 0", len(people)
  return xyc_Jx3, None, len(people)


def frame_number(path: str | os.PathLike) -> int:
  """The frame number in an OpenPose file name (the last digit run)."""
  m = _FRAME_NUMBER.search(pathlib.Path(path).name)
  if m is None:
    raise errors.FormatError("no frame number in the file name (expected "
                             "'..._<number>_keypoints.json')", path=path)
  return int(m.group(1))


def read_openpose_clip(clip_dir: str | os.PathLike) -> OpenPoseClip:
  """Reads a folder of OpenPose JSON files (one per frame) as one clip."""
  clip_dir = pathlib.Path(clip_dir)
  if not clip_dir.is_dir():
    raise errors.FormatError("not a folder of OpenPose JSON files",
                             path=clip_dir)
  paths = [p for p in clip_dir.iterdir()
           if p.is_file() and p.suffix.lower() == ".json"]
  if not paths:
    raise errors.FormatError("empty clip: no .json files", path=clip_dir)
  numbered = sorted((frame_number(p), p) for p in paths)
  for (n0, p0), (n1, p1) in zip(numbered, numbered[1:]):
    if n0 == n1:
      raise errors.FormatError(f"frame number {n0} also in {p0.name}",
                               path=p1)
  frames, names, dropped, multi = [], [], [], []
  previous = None
  for n, p in numbered:
    if previous is not None:
      dropped.extend((f"frame {k}", "no JSON file for this frame number")
                     for k in range(previous + 1, n))
    previous = n
    xyc_Jx3, reason, num_people = read_openpose_frame(p)
    if reason is not None:
      dropped.append((p.name, reason))
      continue
    if num_people > 1:
      multi.append(p.name)
    frames.append(xyc_Jx3)
    names.append(p.name)
  xyc_TxJx3 = (np.stack(frames) if frames else
               np.zeros((0, skeleton.NUM_JOINTS, 3), np.float32))
  return OpenPoseClip(xyc_TxJx3.astype(np.float32), tuple(names),
                      tuple(dropped), tuple(multi), len(numbered))
