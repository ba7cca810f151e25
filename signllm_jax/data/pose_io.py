"""`.pose` files (pose-format 0.15.0) <-> the 50-joint internal skeleton.

Reading recognises these layouts by their component names:
- "openpose": `pose_keypoints_2d` (BODY_25) + `face_keypoints_2d` (70) +
  `hand_left/right_keypoints_2d` (21 each) = 137 points, 2D (XYC). All 50
  joints exist: BODY_25 0-7 are joints 0-7; the hands are in OpenPose hand
  order (their point names differ: BASE, T_STT, ...; the order is the same).
- "holistic": MediaPipe Holistic `POSE_LANDMARKS` (33) + `FACE_LANDMARKS`
  (468) + left/right hand (21 each) [+ `POSE_WORLD_LANDMARKS` (33)] = 543 or
  576 points, 3D. NOSE, shoulders, elbows and wrists come from the 33 pose
  landmarks; MediaPipe has no neck.
- "mediapipe": the reduced holistic layout of sign-language tools (178
  points): `POSE_LANDMARKS` with 8 points (shoulders, elbows, wrists, hips),
  128 face points, both hands. It has neither nose nor neck.
The neck, where the source has none, is synthesised as the midpoint of the
two shoulders (`synthesise_neck=True`, the default; reported in
`PoseReadResult.synthesised`); with `synthesise_neck=False` it is unmapped.
Unmapped joints are NaN in every frame and listed in `.unmapped`. Points the
file marks as missing (confidence 0, masked) are NaN. Coordinates are kept as
the file has them (pose-format stores pixels); 2D layouts get z = `z_fill`
(default 0.0; pass NaN to mark z unknown). The first person is read.

Variants found in the wild that are read, not refused:
- NaN coordinates on points with confidence > 0 (some MediaPipe exports):
  the point is missing (NaN) in that frame; the count of such (frame, point)
  pairs over the whole file is `PoseReadResult.num_nan_points`.
- 4-D points (XYZ plus one extra value, e.g. sign-language-datasets' AUTSL
  holistic poses): XYZ is kept, the fourth value dropped
  (`PoseReadResult.dropped_dims` == 1).
Still refused with a FormatError naming the file: infinite coordinates on a
present point, points of 1 or more than 4 dimensions, unknown layouts and
truncated files.

Writing stores an internal pose as one component, `SIGNLLM_50`, with point
names `skeleton.JOINT_NAMES`, limbs `skeleton.BONES`, format XYZC and
confidence 1 for present joints, 0 (masked) for NaN ones.
"""

import dataclasses
import io
import os
import pathlib

import numpy as np
import pose_format
from pose_format import pose_header
from pose_format.numpy import NumPyPoseBody

from signllm_jax import skeleton
from signllm_jax.data import errors

FormatError = errors.FormatError

COMPONENT = "SIGNLLM_50"
HEADER_VERSION = 0.2  # what pose-format's own exporters write

# Colours per limb for viewers: body grey, left hand green, right hand blue.
_BODY_COLOR, _LEFT_COLOR, _RIGHT_COLOR = (192, 192, 192), (0, 192, 0), (0, 64,
                                                                       255)

_OPENPOSE_BODY = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist",
                  "LShoulder", "LElbow", "LWrist")
_HAND_COMPONENTS = {
    "openpose": ("hand_left_keypoints_2d", "hand_right_keypoints_2d"),
    "holistic": ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"),
    "mediapipe": ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"),
}


@dataclasses.dataclass
class PoseReadResult:
  pose: np.ndarray  # [T, 50, 3] float32, internal (NaN = missing)
  fps: float
  layout: str  # "openpose", "holistic" or "mediapipe"
  num_points: int  # points in the file (137, 178, 543, 576, ...)
  unmapped: tuple[str, ...]  # joint names the file does not have (all NaN)
  synthesised: dict[str, str]  # joint name -> how it was made
  dimensions: tuple[int, int, int]  # width, height, depth from the header
  is_2d: bool
  # (frame, point) pairs of the file with NaN coordinates although their
  # confidence is > 0, read as missing (all points, mapped or not).
  num_nan_points: int = 0
  dropped_dims: int = 0  # trailing values per point dropped (4-D points: 1)


def _layout(header, path) -> str:
  names = [c.name for c in header.components]
  if "pose_keypoints_2d" in names:
    layout = "openpose"
  elif "POSE_LANDMARKS" in names:
    num = len(header.components[names.index("POSE_LANDMARKS")].points)
    layout = "holistic" if num == 33 else "mediapipe"
  else:
    raise FormatError(f"unknown .pose layout; components {names} (known: "
                      "OpenPose-137, MediaPipe-178, holistic-543/576)",
                      path=path)
  for hand in _HAND_COMPONENTS[layout]:
    if hand not in names:
      raise FormatError(f"{layout} layout without a {hand} component "
                        f"(components {names})", path=path)
    if len(header.components[names.index(hand)].points) != skeleton.NUM_HAND:
      raise FormatError(f"{hand} has "
                        f"{len(header.components[names.index(hand)].points)}"
                        f" points, expected {skeleton.NUM_HAND}", path=path)
  return layout


def _body_sources(layout: str) -> dict[int, tuple[str, str]]:
  """Internal joint -> (component, point name) for the body joints."""
  if layout == "openpose":
    return {j: ("pose_keypoints_2d", n) for j, n in enumerate(_OPENPOSE_BODY)}
  # MediaPipe point names are the internal body names (no NECK among them).
  return {j: ("POSE_LANDMARKS", n) for j, n in enumerate(skeleton.BODY_NAMES)}


def _read_pose(path) -> pose_format.Pose:
  path = pathlib.Path(path)
  try:
    data = path.read_bytes()
  except OSError as e:
    raise FormatError(f"cannot read: {e.strerror}", path=path) from None
  try:
    return pose_format.Pose.read(data)
  except Exception as e:  # pose-format raises struct.error, TypeError, ...
    raise FormatError(f"truncated or corrupt .pose file ({type(e).__name__}: "
                      f"{str(e)[:200]})", path=path) from None


def read_pose(path: str | os.PathLike, *, person: int = 0,
              synthesise_neck: bool = True,
              z_fill: float = 0.0) -> PoseReadResult:
  """Reads a `.pose` file and maps it to the 50 internal joints."""
  pose = _read_pose(path)
  header = pose.header
  layout = _layout(header, path)
  data = pose.body.data
  num_frames, num_people, num_points, num_dims = data.shape
  if person >= num_people:
    raise FormatError(f"person {person} requested, file has {num_people}",
                      path=path)
  values = np.ma.getdata(data)[:, person].astype(np.float64)
  missing = np.ma.getmaskarray(data)[:, person].any(axis=-1)
  confidence = np.asarray(pose.body.confidence)[:, person]
  missing |= confidence <= 0
  if num_dims not in (2, 3, 4):
    raise FormatError(f"{num_dims}-dimensional points (expected 2, 3, or 4 "
                      "= XYZ plus one extra value)", path=path)
  dropped_dims = max(num_dims - 3, 0)
  values = values[..., :3]
  # NaN on a confident point is how some exporters mark a lost point: read
  # it as missing and count it, rather than refusing the whole file.
  nan_points = np.isnan(values).any(axis=-1) & ~missing
  num_nan_points = int(nan_points.sum())
  missing |= nan_points
  infinite = np.isinf(values).any(axis=-1) & ~missing
  if infinite.any():
    t, p = np.argwhere(infinite)[0]
    raise FormatError("infinite coordinate for a point with confidence > 0 "
                      "(corrupt file?)", path=path, frame=int(t), value=int(p))
  if num_dims == 2:
    values = np.concatenate(
        [values, np.full(values.shape[:2] + (1,), z_fill)], axis=-1)
  values[missing] = np.nan

  out = np.full((num_frames, skeleton.NUM_JOINTS, 3), np.nan)
  unmapped, synthesised = [], {}
  for joint, (component, point) in _body_sources(layout).items():
    try:
      out[:, joint] = values[:, header.get_point_index(component, point)]
    except ValueError:
      unmapped.append(skeleton.JOINT_NAMES[joint])
  if "NECK" in unmapped and synthesise_neck and not {
      "LEFT_SHOULDER", "RIGHT_SHOULDER"} & set(unmapped):
    out[:, skeleton.NECK] = 0.5 * (out[:, skeleton.L_SHOULDER] +
                                   out[:, skeleton.R_SHOULDER])
    unmapped.remove("NECK")
    synthesised["NECK"] = "midpoint of LEFT_SHOULDER and RIGHT_SHOULDER"
  for hand, first in zip(_HAND_COMPONENTS[layout],
                         (skeleton.LEFT_HAND_ROOT, skeleton.RIGHT_HAND_ROOT)):
    first_point = next(c for c in header.components if c.name == hand).points[0]
    start = header.get_point_index(hand, first_point)
    out[:, first:first + skeleton.NUM_HAND] = values[
        :, start:start + skeleton.NUM_HAND]
  dims = header.dimensions
  return PoseReadResult(
      pose=out.astype(np.float32), fps=float(pose.body.fps), layout=layout,
      num_points=num_points, unmapped=tuple(unmapped),
      synthesised=synthesised,
      dimensions=(int(dims.width), int(dims.height), int(dims.depth)),
      is_2d=num_dims == 2, num_nan_points=num_nan_points,
      dropped_dims=dropped_dims)


def header_50(*, width: int = 1, height: int = 1, depth: int = 1
              ) -> pose_header.PoseHeader:
  """The pose-format header of the internal 50-joint skeleton."""
  colors = []
  for _, child in skeleton.BONES:
    colors.append(_BODY_COLOR if child < skeleton.NUM_BODY else
                  _LEFT_COLOR if child < skeleton.RIGHT_HAND_ROOT else
                  _RIGHT_COLOR)
  component = pose_header.PoseHeaderComponent(
      name=COMPONENT, points=list(skeleton.JOINT_NAMES),
      limbs=[tuple(b) for b in skeleton.BONES], colors=colors,
      point_format="XYZC")
  return pose_header.PoseHeader(
      version=HEADER_VERSION,
      dimensions=pose_header.PoseHeaderDimensions(width, height, depth),
      components=[component])


def to_pose(pose_TxJx3: np.ndarray, fps: float, *, width: int = 1,
            height: int = 1, depth: int = 1) -> pose_format.Pose:
  """Internal pose -> `pose_format.Pose` (NaN joints: confidence 0, masked)."""
  pose = np.asarray(pose_TxJx3, np.float32)
  if pose.ndim != 3 or pose.shape[1:] != (skeleton.NUM_JOINTS, 3):
    raise ValueError(f"expected [T, {skeleton.NUM_JOINTS}, 3], got "
                     f"{pose.shape}")
  if np.isinf(pose).any():
    raise ValueError("pose contains inf")
  if not fps > 0:
    raise ValueError(f"fps must be positive, got {fps}")
  present = ~np.isnan(pose).any(axis=-1)  # [T, J]
  data = np.where(present[..., None], pose, 0.0)[:, None]
  mask = np.broadcast_to(~present[:, None, :, None], data.shape)
  body = NumPyPoseBody(fps=fps, data=np.ma.masked_array(data, mask=mask),
                       confidence=present[:, None].astype(np.float32))
  return pose_format.Pose(header_50(width=width, height=height, depth=depth),
                          body)


def write_pose(path: str | os.PathLike, pose_TxJx3: np.ndarray, fps: float,
               **dimensions) -> pathlib.Path:
  """Writes an internal pose as a `.pose` file that pose-format reads."""
  buffer = io.BytesIO()
  to_pose(pose_TxJx3, fps, **dimensions).write(buffer)
  path = pathlib.Path(path)
  path.write_bytes(buffer.getvalue())
  return path


def read_internal_pose(path: str | os.PathLike) -> tuple[np.ndarray, float]:
  """Reads a file written by `write_pose` back: (pose_TxJx3, fps)."""
  pose = _read_pose(path)
  names = [c.name for c in pose.header.components]
  if names != [COMPONENT]:
    raise FormatError(f"not a {COMPONENT} file (components {names}); use "
                      "read_pose for OpenPose/MediaPipe layouts", path=path)
  data = pose.body.data[:, 0]
  values = np.ma.getdata(data).astype(np.float32).copy()
  missing = np.ma.getmaskarray(data).any(-1) | (
      np.asarray(pose.body.confidence)[:, 0] <= 0)
  values[missing] = np.nan
  return values, float(pose.body.fps)
