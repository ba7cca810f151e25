"""Tests for the 385-value DWPose variant."""

import hypothesis
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

from signllm_jax import skeleton
from signllm_jax.data import dwpose
from signllm_jax.data import errors
from signllm_jax.data import skels


def _frames(num_frames, seed=0):
  rng = np.random.default_rng(seed)
  frames = np.round(rng.uniform(0, 1, (num_frames, dwpose.FRAME_DIM)), 8)
  frames[:, -1] = dwpose.counter(num_frames)
  return frames


def test_layout_constants():
  assert dwpose.FRAME_DIM == 385
  sizes = [s.stop - s.start for s in (
      dwpose.BODY_XY, dwpose.BODY_SCORE, dwpose.HAND_XY, dwpose.HAND_SCORE,
      dwpose.FACE_XY, dwpose.FACE_SCORE)]
  assert sizes == [36, 18, 84, 42, 136, 68] and sum(sizes) == 384


def test_counter():
  np.testing.assert_allclose(dwpose.counter(5), [0, .25, .5, .75, 1])
  np.testing.assert_allclose(dwpose.counter(1), [0])


def test_mapping_by_hand():
  frames = np.zeros((1, dwpose.FRAME_DIM))
  frames[0, dwpose.BODY_SCORE] = 0.9
  frames[0, dwpose.HAND_SCORE] = 0.9
  body = frames[0, dwpose.BODY_XY].reshape(18, 2)
  body[:] = np.arange(36).reshape(18, 2) / 100
  frames[0, dwpose.BODY_XY] = body.ravel()
  hands = np.arange(84).reshape(42, 2) / 1000
  frames[0, dwpose.HAND_XY] = hands.ravel()
  frames[0, 36 + 4] = 0.1  # right wrist score below 0.3: missing
  frames[0, 54 + 2 * 3:54 + 2 * 3 + 2] = -1  # left hand point 3 undetected
  pose = dwpose.to_internal(frames)
  assert pose.shape == (1, 50, 3) and pose.dtype == np.float32
  np.testing.assert_allclose(pose[0, skeleton.NOSE], [0, 0.01, 0])
  np.testing.assert_allclose(pose[0, skeleton.L_WRIST], [0.14, 0.15, 0])
  assert np.isnan(pose[0, skeleton.R_WRIST]).all()
  np.testing.assert_allclose(pose[0, skeleton.LEFT_HAND_ROOT],
                             [0, 0.001, 0], atol=1e-7)
  assert np.isnan(pose[0, skeleton.LEFT_HAND_ROOT + 3]).all()
  np.testing.assert_allclose(pose[0, skeleton.RIGHT_HAND_ROOT],
                             [0.042, 0.043, 0], atol=1e-7)
  assert np.isnan(dwpose.to_internal(frames, z_fill=np.nan)[..., 2]).all()
  assert dwpose.UNMAPPED_JOINTS == ()


def test_from_internal_inverts_to_internal():
  frames = _frames(3)
  frames[:, dwpose.BODY_SCORE] = 1.0
  frames[:, dwpose.HAND_SCORE] = 1.0
  pose = dwpose.to_internal(frames)
  again = dwpose.from_internal(pose)
  np.testing.assert_allclose(dwpose.to_internal(again), pose)
  # Points the 50 joints lack are written as undetected.
  body = again[:, dwpose.BODY_XY].reshape(3, 18, 2)
  assert (body[:, 8:] == -1).all() and (again[:, dwpose.FACE_XY] == -1).all()
  assert (again[:, dwpose.BODY_SCORE][:, 8:] == 0).all()


def test_raw_split_round_trip_is_byte_identical(tmp_path):
  raw = [dwpose.RawRecord(f"c{i}", f"text {i}", _frames(i + 1, i))
         for i in range(3)]
  dwpose.write_raw_split(tmp_path, "train", raw)
  line = (tmp_path / "train.skels").read_text().splitlines()[1]
  assert len(line.split()) == 2 * 385
  assert line.split()[384] == "0.00000000" and line.split()[-1] == (
      "1.00000000")
  back, skipped = dwpose.read_raw_split(tmp_path, "train")
  assert skipped == []
  for a, b in zip(raw, back):
    np.testing.assert_array_equal(a.frames, b.frames)
  dwpose.write_raw_split(tmp_path / "again", "train", back)
  for ext in ("skels", "text", "files"):
    assert (tmp_path / f"train.{ext}").read_bytes() == (
        tmp_path / "again" / f"train.{ext}").read_bytes()
  result = dwpose.read_split(tmp_path, "train")
  assert result.convention == "dwpose" and len(result.records) == 3
  assert result.records[2].pose.shape == (3, 50, 3)


def test_internal_split_round_trip(tmp_path):
  pose = np.random.default_rng(0).uniform(0, 1, (4, 50, 3)).astype(
      np.float32)
  pose[..., 2] = 0
  pose[1, 9] = np.nan
  dwpose.write_split(tmp_path, "dev", [skels.Record("a", "t", pose, "G")])
  result = dwpose.read_split(tmp_path, "dev")
  np.testing.assert_allclose(result.records[0].pose, pose, atol=1e-8,
                             equal_nan=True)
  assert result.records[0].gloss == "G"


def test_bad_input(tmp_path):
  good = dwpose.format_frames(_frames(2))
  bad_counter = dwpose.format_frames(_frames(2)).rsplit(" ", 1)[0] + " 0.5"
  lines = [good, good + " 0.1", bad_counter, good.replace("0.", "x.", 1)]
  (tmp_path / "train.skels").write_text("\n".join(lines) + "\n")
  (tmp_path / "train.text").write_text("a\nb\nc\nd\n")
  (tmp_path / "train.files").write_text("1\n2\n3\n4\n")
  with pytest.raises(errors.FormatError, match="line 2: 771 values is not a "
                     "multiple of 385"):
    dwpose.read_raw_split(tmp_path, "train")
  records, skipped = dwpose.read_raw_split(tmp_path, "train", on_error="skip")
  assert len(records) + len(skipped) == 4 and len(records) == 1
  assert "frame 1, value 384: counter 0.50000000" in skipped[1].reason
  assert "not a number" in skipped[2].reason
  with pytest.raises(ValueError, match="finite"):
    dwpose.format_frames(np.full((1, 385), np.nan))


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(values=hnp.arrays(
    np.float64, st.tuples(st.integers(1, 3), st.just(384)),
    elements=st.floats(-1, 1, allow_nan=False)))
def test_random_raw_frames_round_trip(values):
  frames = np.concatenate(
      [np.round(values, 8), dwpose.counter(len(values))[:, None]], axis=1)
  line = dwpose.format_frames(frames)
  back = dwpose.parse_frames(line)
  assert dwpose.format_frames(back) == line
  np.testing.assert_allclose(back, frames, atol=1e-8)


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(text=st.one_of(st.text(max_size=300), st.lists(
    st.sampled_from(["0.5", "x", "nan", "-1", ""]), max_size=800).map(
        " ".join)))
def test_garbage_gives_format_error_only(text):
  try:
    dwpose.parse_frames(text, path="d.skels", line=3)
  except errors.FormatError as e:
    assert str(e).startswith("d.skels, line 3")
