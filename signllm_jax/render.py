"""Skeleton rendering to GIF / MP4 / PNG (headless: OpenCV + Pillow).

Projection: orthographic onto the x-y plane; z is dropped. Coordinates are
drawn as given, x to the right and y DOWN: the data keeps OpenPose's image
convention (in PT and Prompt2Sign files the nose's y is smaller than the
neck's), so no flip is needed; `flip_y=True` is there for data with y up.
All frames of all panels share one scale (the bounding box of every finite
joint, with a margin, aspect ratio kept), so panels are comparable and the
figure does not jitter.

Colours (RGB): body grey-blue, left hand (joints 8-28) orange, right hand
(joints 29-49) green; the bone from a wrist to its hand root takes the hand's
colour. Missing (NaN) joints are not drawn, nor any bone touching them.
A thin bar at the bottom shows progress through the sequence (it also keeps
consecutive GIF frames distinct: Pillow merges identical GIF frames).
Titles are drawn glyph by glyph from the first font that has the glyph:
$SIGNLLM_FONT (font files, separated by os.pathsep), then DejaVu Sans (it
ships with matplotlib: Latin with every accent, Turkish, Greek, Cyrillic),
then the system's fonts (matplotlib's font finder: fontconfig, or the usual
font folders). Hangul needs a system font such as Noto Sans CJK or Nanum
(`apt-get install fonts-noto-cjk` or `fonts-nanum`, `brew install --cask
font-noto-sans-cjk`, or any .ttf/.otf via SIGNLLM_FONT); characters no font
has are drawn as boxes, with one warning per process naming them.
"""

import functools
import logging
import os
import pathlib

import cv2
import imageio.v3 as iio
import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from signllm_jax import skeleton

_log = logging.getLogger(__name__)

BODY_RGB = (70, 110, 170)
LEFT_HAND_RGB = (235, 120, 30)
RIGHT_HAND_RGB = (40, 160, 70)
BACKGROUND_RGB = (255, 255, 255)
TITLE_HEIGHT = 24
TITLE_FONT_PX = 13
FONT_ENV = "SIGNLLM_FONT"
FONT_HINT = ("install a font that has them (Debian/Ubuntu: `apt-get install "
             "fonts-noto-cjk` or `fonts-nanum`; macOS: `brew install --cask "
             "font-noto-sans-cjk`) or point SIGNLLM_FONT at a .ttf/.otf file")
_warned_missing: set[str] = set()


def _bone_colour(child: int) -> tuple[int, int, int]:
  if skeleton.LEFT_HAND.start <= child < skeleton.LEFT_HAND.stop:
    return LEFT_HAND_RGB
  if skeleton.RIGHT_HAND.start <= child < skeleton.RIGHT_HAND.stop:
    return RIGHT_HAND_RGB
  return BODY_RGB


def _joint_colour(j: int) -> tuple[int, int, int]:
  return _bone_colour(j)


def _check(pose, where: str) -> np.ndarray:
  return skeleton.check_pose(pose, where)


class _Projector:
  """Maps x, y skeleton coordinates into a w x h panel (shared scale)."""

  def __init__(self, poses: list[np.ndarray], size: tuple[int, int],
               flip_y: bool, top: int):
    xy = np.concatenate([p[..., :2].reshape(-1, 2) for p in poses])
    xy = xy[np.isfinite(xy).all(-1)]
    if flip_y:
      xy = xy * np.array([1.0, -1.0])
    if xy.size == 0:
      lo, hi = np.zeros(2), np.ones(2)
    else:
      lo, hi = xy.min(0), xy.max(0)
    span = np.maximum(hi - lo, 1e-6)
    w, h = size
    avail = np.array([w, h - top], np.float64) * 0.9
    self.scale = float(np.min(avail / span))
    self.offset = (np.array([w, h + top]) / 2.0
                   - (lo + hi) / 2.0 * self.scale)
    self.flip_y = flip_y

  def __call__(self, joints_Jx3: np.ndarray) -> np.ndarray:
    xy = joints_Jx3[:, :2].astype(np.float64)
    if self.flip_y:
      xy = xy * np.array([1.0, -1.0])
    return xy * self.scale + self.offset


def _style_rank(path: str) -> tuple[int, str]:
  """Regular sans faces first, so the fallback looks like the main font."""
  name = pathlib.Path(path).stem.lower()
  styled = any(w in name for w in ("bold", "italic", "oblique", "light",
                                   "thin", "black", "heavy", "mono",
                                   "coding", "extra", "condensed"))
  sans = any(w in name for w in ("sans", "gothic"))
  return (2 * styled + (not sans), name)


@functools.lru_cache(maxsize=1)
def font_candidates() -> tuple[str, ...]:
  """Font files to draw titles with, in the order they are tried."""
  from matplotlib import font_manager  # pylint: disable=g-import-not-at-top
  env = [p for p in os.environ.get(FONT_ENV, "").split(os.pathsep) if p]
  for p in env:
    if not pathlib.Path(p).is_file():
      _log.warning("%s names %s, which is not a file", FONT_ENV, p)
  bundled = str(pathlib.Path(font_manager.__file__).parent / "mpl-data" /
                "fonts" / "ttf" / "DejaVuSans.ttf")
  found = font_manager.findSystemFonts(fontext="ttf")
  found += font_manager.findSystemFonts(fontext="otf")
  system = sorted(set(found) - {bundled}, key=_style_rank)
  return tuple(dict.fromkeys(
      p for p in [*env, bundled, *system] if pathlib.Path(p).is_file()))


@functools.lru_cache(maxsize=None)
def _codepoints(path: str) -> frozenset[int]:
  """The characters a font file maps (empty if it cannot be read)."""
  from fontTools import ttLib  # pylint: disable=g-import-not-at-top
  try:
    font = ttLib.TTFont(path, fontNumber=0, lazy=True)
    cmap = font.getBestCmap() or {}
    font.close()
  except Exception:  # pylint: disable=broad-except
    return frozenset()  # an unreadable file is no candidate
  return frozenset(cmap)


@functools.lru_cache(maxsize=None)
def _pil_font(path: str | None, px: int):
  if path is None:
    return ImageFont.load_default(size=px)
  return ImageFont.truetype(path, px, index=0)


def font_for(char: str) -> str | None:
  """The first candidate font file that has `char` (None: none has it)."""
  code = ord(char)
  for path in font_candidates():
    if code in _codepoints(path):
      return path
  return None


def title_runs(text: str) -> list[tuple[str, str | None]]:
  """Splits text into (run, font file) pieces; warns once per process about
  characters that no font has (they fall back to Pillow's own font)."""
  runs: list[tuple[str, str | None]] = []
  missing = []
  for ch in text:
    path = font_for(ch) if not ch.isspace() else (runs[-1][1] if runs
                                                  else None)
    if path is None and not ch.isspace():
      missing.append(ch)
    if runs and runs[-1][1] == path:
      runs[-1] = (runs[-1][0] + ch, path)
    else:
      runs.append((ch, path))
  new = sorted(set(missing) - _warned_missing)
  if new:
    _warned_missing.update(new)
    _log.warning("no font has the characters %s: titles show boxes for "
                 "them; %s", "".join(new), FONT_HINT)
  return runs


def _title_strip(title: str, width: int) -> np.ndarray:
  img = Image.new("RGB", (width, TITLE_HEIGHT), BACKGROUND_RGB)
  draw = ImageDraw.Draw(img)
  x = 6.0
  for run, path in title_runs(title):
    font = _pil_font(path, TITLE_FONT_PX)
    draw.text((x, TITLE_HEIGHT / 2), run, fill=(0, 0, 0), font=font,
              anchor="lm")
    x += draw.textlength(run, font=font)
  return np.asarray(img)


def _draw(joints_Jx3: np.ndarray, project: _Projector, size, title_rgb,
          progress: float) -> np.ndarray:
  w, h = size
  img = np.full((h, w, 3), BACKGROUND_RGB, np.uint8)
  if title_rgb is not None:
    img[:TITLE_HEIGHT] = title_rgb
  pts = project(joints_Jx3)
  ok = np.isfinite(joints_Jx3[:, :2]).all(-1) & np.isfinite(pts).all(-1)
  pix = np.where(ok[:, None], pts, 0).round().astype(np.int32)
  thick = max(1, round(min(w, h) / 160))
  for parent, child in skeleton.BONES:
    if ok[parent] and ok[child]:
      cv2.line(img, tuple(pix[parent]), tuple(pix[child]),
               _bone_colour(child), thick + (1 if child < 8 else 0),
               cv2.LINE_AA)
  for j in np.nonzero(ok)[0]:
    cv2.circle(img, tuple(pix[j]), thick + 1, _joint_colour(int(j)), -1,
               cv2.LINE_AA)
  bar = int(round(progress * w))
  img[h - 3:, :bar] = (120, 120, 120)
  return img


def render_frames(pose_TxJx3: np.ndarray, *,
                  reference: np.ndarray | None = None,
                  size: tuple[int, int] = (320, 320),
                  title: str | None = None,
                  reference_title: str = "ground truth",
                  flip_y: bool = False) -> np.ndarray:
  """RGB frames [T, h, w or 2w, 3] uint8 (reference panel on the right).

  With a reference of another length the shorter sequence holds its last
  frame; the output has max(T, T_ref) frames.
  """
  pose = _check(pose_TxJx3, "pose")
  poses = [pose] + ([_check(reference, "reference")]
                    if reference is not None else [])
  w, h = int(size[0]), int(size[1])
  titled = title is not None or reference is not None
  top = TITLE_HEIGHT if titled else 0
  project = _Projector(poses, (w, h), flip_y, top)
  titles = [title or ("produced" if reference is not None else ""),
            reference_title][:len(poses)]
  strips = [_title_strip(t, w) if titled else None for t in titles]
  n = max(len(p) for p in poses)
  out = np.empty((n, h, w * len(poses), 3), np.uint8)
  for t in range(n):
    for k, p in enumerate(poses):
      out[t, :, k * w:(k + 1) * w] = _draw(
          p[min(t, len(p) - 1)], project, (w, h), strips[k], (t + 1) / n)
  return out


def render(pose_TxJx3: np.ndarray, path: str | pathlib.Path, *,
           reference: np.ndarray | None = None, fps: float = 25,
           size: tuple[int, int] = (320, 320), title: str | None = None,
           reference_title: str = "ground truth",
           flip_y: bool = False) -> pathlib.Path:
  """Renders a skeleton sequence to `.gif` or `.mp4` (by the suffix).

  Args:
    pose_TxJx3: internal poses [T, 50, 3] (NaN = missing joint).
    path: output file; its suffix picks the format.
    reference: optional ground truth, drawn side by side on the right.
    fps: frames per second.
    size: (width, height) of ONE panel in pixels.
    title: title of the produced panel.
    reference_title: title of the reference panel.
    flip_y: flip y for data whose y axis points up.

  Returns:
    The path written.
  """
  path = pathlib.Path(path)
  suffix = path.suffix.lower()
  if suffix not in (".gif", ".mp4"):
    raise ValueError(f"{path}: unsupported video format {suffix!r} "
                     "(use .gif or .mp4)")
  if fps <= 0:
    raise ValueError(f"fps must be positive, got {fps}")
  frames = render_frames(pose_TxJx3, reference=reference, size=size,
                         title=title, reference_title=reference_title,
                         flip_y=flip_y)
  path.parent.mkdir(parents=True, exist_ok=True)
  if suffix == ".gif":
    iio.imwrite(path, frames, extension=".gif", duration=1000.0 / fps,
                loop=0)
  else:
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"),
                             float(fps), (width, height))
    if not writer.isOpened():
      raise OSError(f"{path}: OpenCV could not open an mp4v video writer")
    try:
      for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
      writer.release()
  return path


def render_frame_png(pose_Jx3: np.ndarray, path: str | pathlib.Path, *,
                     size: tuple[int, int] = (320, 320),
                     title: str | None = None,
                     flip_y: bool = False) -> pathlib.Path:
  """Renders one frame [50, 3] to a PNG file."""
  pose_Jx3 = np.asarray(pose_Jx3, np.float32)
  if pose_Jx3.shape != (skeleton.NUM_JOINTS, 3):
    raise ValueError(f"pose must be [{skeleton.NUM_JOINTS}, 3], got "
                     f"{pose_Jx3.shape}")
  frame = render_frames(pose_Jx3[None], size=size, title=title,
                        flip_y=flip_y)[0]
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.fromarray(frame).save(path, format="PNG")
  return path


def render_strip(pose_TxJx3: np.ndarray, *,
                 reference: np.ndarray | None = None, frames: int = 6,
                 size: tuple[int, int] = (120, 120), title: str | None = None,
                 labels: tuple[str, str] = ("produced", "truth"),
                 flip_y: bool = False) -> np.ndarray:
  """A frame strip: `frames` evenly spaced frames in a row (first to last),
  the reference's below it at the same relative times; one shared scale.

  Returns RGB [H, frames * w, 3] uint8; H = title + one or two rows.
  """
  if frames < 1:
    raise ValueError(f"frames must be >= 1, got {frames}")
  poses = [_check(pose_TxJx3, "pose")] + (
      [_check(reference, "reference")] if reference is not None else [])
  w, h = int(size[0]), int(size[1])
  project = _Projector(poses, (w, h), flip_y, TITLE_HEIGHT)
  rows = []
  if title:
    rows.append(_title_strip(title, w * frames))
  for label, pose in zip(labels, poses):
    picks = np.round(np.linspace(0, len(pose) - 1, frames)).astype(int)
    panels = []
    for k, t in enumerate(picks):
      text = f"{t + 1}/{len(pose)}"
      text = f"{label} {text}" if k == 0 else text
      panels.append(_draw(pose[t], project, (w, h), _title_strip(text, w),
                          (t + 1) / len(pose)))
    rows.append(np.concatenate(panels, axis=1))
  return np.concatenate(rows, axis=0)


def render_strip_png(pose_TxJx3: np.ndarray, path: str | pathlib.Path, *,
                     reference: np.ndarray | None = None, frames: int = 6,
                     size: tuple[int, int] = (120, 120),
                     title: str | None = None,
                     flip_y: bool = False) -> pathlib.Path:
  """`render_strip` written as a PNG (palette-compressed: small files)."""
  strip = render_strip(pose_TxJx3, reference=reference, frames=frames,
                       size=size, title=title, flip_y=flip_y)
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.fromarray(strip).quantize(colors=64).save(path, format="PNG",
                                                  optimize=True)
  return path
