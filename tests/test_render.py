"""Tests for signllm_jax.render."""

import imageio.v3 as iio
import numpy as np
import pytest

from signllm_jax import render
from signllm_jax import skeleton


def _pose(t=6):
  """A skeleton with every joint distinct, waving its hands."""
  rng = np.random.default_rng(0)
  base = rng.uniform(-1, 1, size=(50, 3)).astype(np.float32)
  base[skeleton.LEFT_HAND, 0] -= 2.0  # keep the hands apart
  base[skeleton.RIGHT_HAND, 0] += 2.0
  pose = np.repeat(base[None], t, 0)
  pose[:, 8:, 1] += np.sin(np.arange(t))[:, None] * 0.3
  return pose


def _has_colour(frames, rgb, tol=40):
  diff = np.abs(frames.astype(int) - np.array(rgb)).max(-1)
  return (diff < tol).sum()


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_render_writes_frames(tmp_path, suffix):
  pose = _pose(7)
  path = render.render(pose, tmp_path / f"clip{suffix}", fps=10,
                       size=(96, 80), title="Größe")
  assert path.is_file() and path.stat().st_size > 0
  frames = iio.imread(path, index=None,
                      plugin="pyav" if suffix == ".mp4" else None)
  assert frames.shape[0] == 7
  assert frames.shape[1:3] == (80, 96)
  assert (frames[..., :3] < 200).any(axis=-1).mean() > 0.01  # not blank


def test_hands_and_body_have_distinct_colours():
  frames = render.render_frames(_pose(2), size=(160, 160))
  for colour in (render.BODY_RGB, render.LEFT_HAND_RGB,
                 render.RIGHT_HAND_RGB):
    assert _has_colour(frames, colour, tol=10) > 20, colour
  assert len({render.BODY_RGB, render.LEFT_HAND_RGB,
              render.RIGHT_HAND_RGB}) == 3
  # The left hand is drawn left of the right hand (x kept, not mirrored).
  left = np.argwhere(np.abs(frames[0].astype(int)
                            - render.LEFT_HAND_RGB).max(-1) < 10)
  right = np.argwhere(np.abs(frames[0].astype(int)
                             - render.RIGHT_HAND_RGB).max(-1) < 10)
  assert left[:, 1].mean() < right[:, 1].mean()


def test_y_axis_points_down():
  pose = np.full((1, 50, 3), np.nan, np.float32)
  pose[0, skeleton.LEFT_HAND] = [0.0, -1.0, 0.0]  # small y: top of image
  pose[0, skeleton.RIGHT_HAND] = [0.0, 1.0, 0.0]
  pose[0, skeleton.LEFT_HAND.start, 0] = 0.01  # non-degenerate box
  frame = render.render_frames(pose, size=(64, 64))[0]
  rows = lambda c: np.argwhere(np.abs(frame.astype(int) - c).max(-1) < 10)
  assert rows(render.LEFT_HAND_RGB)[:, 0].mean() < rows(
      render.RIGHT_HAND_RGB)[:, 0].mean()
  flipped = render.render_frames(pose, size=(64, 64), flip_y=True)[0]
  rows_f = lambda c: np.argwhere(np.abs(flipped.astype(int) - c).max(-1) < 10)
  assert rows_f(render.LEFT_HAND_RGB)[:, 0].mean() > rows_f(
      render.RIGHT_HAND_RGB)[:, 0].mean()


def test_side_by_side_with_reference(tmp_path):
  pose, ref = _pose(4), _pose(6)
  frames = render.render_frames(pose, reference=ref, size=(64, 72),
                                title="model")
  assert frames.shape == (6, 72, 128, 3)
  for half in (frames[:, :, :64], frames[:, :, 64:]):
    assert _has_colour(half, render.RIGHT_HAND_RGB, tol=10) > 0
  path = render.render(pose, tmp_path / "pair.gif", reference=ref,
                       size=(64, 72))
  assert iio.imread(path, index=None).shape[:3] == (6, 72, 128)


def test_nan_joints_are_skipped():
  pose = _pose(2)
  pose[:, skeleton.RIGHT_HAND] = np.nan
  frames = render.render_frames(pose, size=(96, 96))
  assert _has_colour(frames, render.RIGHT_HAND_RGB, tol=10) == 0
  assert _has_colour(frames, render.LEFT_HAND_RGB, tol=10) > 0
  empty = render.render_frames(np.full((1, 50, 3), np.nan), size=(32, 32))
  assert (empty[0, :-3] == 255).all()  # nothing but background


def test_render_frame_png(tmp_path):
  path = render.render_frame_png(_pose(1)[0], tmp_path / "f.png",
                                 size=(50, 40))
  img = iio.imread(path)
  assert img.shape[:2] == (40, 50) and (img[..., :3] < 200).any()


def test_bad_input(tmp_path):
  with pytest.raises(ValueError, match="unsupported video format"):
    render.render(_pose(2), tmp_path / "x.avi")
  with pytest.raises(ValueError, match=r"pose must be \[T, 50, 3\]"):
    render.render(np.zeros((2, 49, 3)), tmp_path / "x.gif")
