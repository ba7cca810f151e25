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


# Titles in every script: glyphs come from the first font that has them.

def _title_pixels(title, width=240):
  return render._title_strip(title, width).astype(int)


def _distinct(a, b):
  return np.abs(_title_pixels(a) - _title_pixels(b)).sum() > 0


def test_accented_latin_and_turkish_titles_have_their_glyphs():
  # DejaVu Sans ships with matplotlib (a dependency): always there.
  assert render.font_for("ğ") is not None
  for plain, accented in [("g", "ğ"), ("s", "ş"), ("I", "İ"), ("i", "ı"),
                          ("e", "é"), ("a", "à"), ("o", "ö")]:
    assert _distinct(plain, accented), (plain, accented)
  # A missing glyph draws the same box for every character: these differ.
  assert _distinct("ğ", "ş") and _distinct("İ", "ı")


def _hangul_font():
  font = render.font_for("한")
  if font is None:
    pytest.skip("no font with Hangul on this machine (apt-get install "
                "fonts-nanum, or SIGNLLM_FONT=/path/to/font.ttf)")
  return font


def test_hangul_titles_have_their_glyphs():
  _hangul_font()
  assert _distinct("가", "나") and _distinct("한국어", "수어")
  runs = render.title_runs("KSL: 한국 수어")
  assert [r for r, _ in runs] == ["KSL: ", "한국 수어"]
  assert runs[0][1] != runs[1][1]  # Latin and Hangul from different fonts


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_hangul_title_in_gif_and_mp4(tmp_path, suffix):
  _hangul_font()
  title = "KSL: 한국 수어"
  path = render.render(_pose(3), tmp_path / f"k{suffix}", size=(200, 80),
                       title=title)
  frame = iio.imread(path, index=0,
                     plugin="pyav" if suffix == ".mp4" else None)[..., :3]
  strip = frame[:render.TITLE_HEIGHT].astype(int)
  want = _title_pixels(title, 200)
  boxes = _title_pixels("KSL: \ue000\ue000 \ue000\ue000", 200)  # no glyphs
  assert np.abs(strip - want).mean() < np.abs(strip - boxes).mean() / 2


def test_missing_glyphs_warn_once(monkeypatch, caplog):
  bundled = render.font_candidates()[0]
  monkeypatch.setattr(render, "font_candidates", lambda: (bundled,))
  monkeypatch.setattr(render, "_warned_missing", set())
  with caplog.at_level("WARNING", logger="signllm_jax.render"):
    render.render_frames(_pose(4), title="KSL: 한국")
    render.render_frames(_pose(4), title="KSL: 한국")
  warnings = [r for r in caplog.records if "no font has" in r.message]
  assert len(warnings) == 1
  assert "한" in warnings[0].message and "fonts-noto-cjk" in \
      warnings[0].message


def test_font_from_the_environment_comes_first(monkeypatch):
  bundled = render.font_candidates()[-1]
  monkeypatch.setenv(render.FONT_ENV, bundled)
  render.font_candidates.cache_clear()
  try:
    assert render.font_candidates()[0] == bundled
  finally:
    monkeypatch.delenv(render.FONT_ENV)
    render.font_candidates.cache_clear()


def test_render_strip(tmp_path):
  pose, ref = _pose(9), _pose(5)
  strip = render.render_strip(pose, reference=ref, frames=4, size=(60, 50),
                              title="ASL: hello")
  assert strip.shape == (render.TITLE_HEIGHT + 2 * 50, 4 * 60, 3)
  alone = render.render_strip(pose, frames=3, size=(60, 50))
  assert alone.shape == (50, 3 * 60, 3)
  path = render.render_strip_png(pose, tmp_path / "s.png", reference=ref)
  img = iio.imread(path)
  assert img.shape[:2] == (2 * 120, 6 * 120)
  assert _has_colour(img[..., :3], render.LEFT_HAND_RGB, tol=30) > 0
  with pytest.raises(ValueError, match="frames must be"):
    render.render_strip(pose, frames=0)
