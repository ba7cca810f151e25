"""Tests for the line-aligned .skels layout and its two value conventions."""

import math
import pathlib

import hypothesis
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

from signllm_jax import skeleton
from signllm_jax.data import errors
from signllm_jax.data import skels


def _pose(num_frames, seed=0, scale=1.0):
  rng = np.random.default_rng(seed)
  return (rng.uniform(-1, 1, (num_frames, 50, 3)) * scale).astype(np.float32)


def _records(n=3, seed=0, gloss=True):
  return [skels.Record(id=f"clip-{i}", text=f"sentence number {i} .",
                       pose=_pose(3 + i, seed + i),
                       gloss=f"G{i} H{i}" if gloss else None)
          for i in range(n)]


def _write_raw(directory, split, skels_lines, n=None, gloss=False):
  n = len(skels_lines) if n is None else n
  directory = pathlib.Path(directory)
  (directory / f"{split}.skels").write_text("".join(
      l + "\n" for l in skels_lines))
  (directory / f"{split}.text").write_text("".join(
      f"text {i}\n" for i in range(n)))
  (directory / f"{split}.files").write_text("".join(
      f"id{i}\n" for i in range(n)))
  if gloss:
    (directory / f"{split}.gloss").write_text("".join(
        f"G{i}\n" for i in range(n)))


def _frame_line(num_frames, convention, value="0.10000"):
  conv = skels.CONVENTIONS[convention]
  frames = []
  for t in range(num_frames):
    counter = (t + conv.counter_start) / num_frames
    frames.append(" ".join([value] * 150 + [
        f"{counter:.{conv.counter_decimals}f}"]))
  return " ".join(frames)


# --- conventions, by hand ----------------------------------------------------

def test_convention_constants():
  assert skels.CONVENTIONS["prompt2sign"].divisor == 9.0
  assert skels.CONVENTIONS["pt"].divisor == 3.0
  assert skels.PT.neck_centred and not skels.PROMPT2SIGN.neck_centred
  with pytest.raises(Exception):
    skels.PT.divisor = 2.0  # frozen


def test_pt_to_internal_to_prompt2sign_by_hand():
  frames = np.zeros((1, 151))
  frames[0, :150] = 0.1
  pose = skels.decode_frames(frames, "pt")
  np.testing.assert_allclose(pose, 0.3, rtol=1e-6)
  line = skels.format_sequence(pose, "prompt2sign")
  tokens = line.split()
  assert tokens[0] == "0.03333" and tokens[149] == "0.03333"
  assert tokens[150] == "1.00000"  # prompt2sign counter of frame 1 of 1


def test_counters_by_hand():
  pose = np.ones((4, 50, 3), np.float32)
  pt = skels.format_sequence(pose, "pt").split()
  assert [pt[151 * t + 150] for t in range(4)] == [
      "0.0000", "0.2500", "0.5000", "0.7500"]
  assert pt[0] == "0.33333"  # 1 / 3 at 5 decimals
  p2s = skels.format_sequence(pose, "prompt2sign").split()
  assert [p2s[151 * t + 150] for t in range(4)] == [
      "0.25000", "0.50000", "0.75000", "1.00000"]
  assert p2s[0] == "0.11111"


def test_prompt2sign_sentinel_write_and_read():
  pose = _pose(2) + 2.0  # away from 0 and from the sentinel
  pose[0, 5] = np.nan  # a missing joint
  pose[1, 7, 2] = 0.0  # an exact zero in a real joint
  line = skels.format_sequence(pose, "prompt2sign")
  tokens = line.split()
  assert tokens[15:18] == ["0.01600"] * 3
  assert tokens[151 + 7 * 3 + 2] == "0.01600"
  back = skels.parse_sequence(line, "prompt2sign")
  assert np.isnan(back[0, 5]).all()
  assert back[1, 7, 2] == 0.0
  assert np.isnan(back).sum() == 3
  np.testing.assert_allclose(back[1, 7, :2], pose[1, 7, :2], atol=1e-4)


def test_prompt2sign_printed_zero_round_trips_bytes():
  values = ["0.10000"] * 150
  values[0], values[1] = "0.00000", "-0.00000"
  line = " ".join(values + ["1.00000"])
  pose = skels.parse_sequence(line, "prompt2sign")
  assert pose[0, 0, 0] != 0 and abs(pose[0, 0, 0]) < 1e-20
  assert math.copysign(1, pose[0, 0, 1]) == -1
  assert skels.format_sequence(pose, "prompt2sign") == line


def test_pt_nan_cannot_be_written():
  pose = _pose(2)
  pose[1, 3, 0] = np.nan
  with pytest.raises(ValueError, match="frame 1, joint 3"):
    skels.format_sequence(pose, "pt")


def test_inf_and_bad_shape_cannot_be_written():
  pose = _pose(2)
  pose[0, 0, 0] = np.inf
  with pytest.raises(ValueError, match="infinite"):
    skels.format_sequence(pose, "prompt2sign")
  with pytest.raises(ValueError, match="shape"):
    skels.format_sequence(np.zeros((2, 49, 3)), "pt")
  with pytest.raises(ValueError, match="0 frames"):
    skels.format_sequence(np.zeros((0, 50, 3)), "pt")


def test_detect_convention():
  for name in ("pt", "prompt2sign"):
    frames = skels.parse_frames(_frame_line(5, name))
    assert skels.detect_convention(frames) == name
  frames = skels.parse_frames(_frame_line(5, "pt"))
  frames[:, -1] = 0.5
  with pytest.raises(errors.FormatError, match="neither"):
    skels.detect_convention(frames)


def test_neck_centre():
  pose = _pose(3)
  centred = skels.neck_centre(pose)
  assert np.all(centred[:, skeleton.NECK] == 0)
  assert skels.is_neck_centred(skels.encode_frames(centred, "pt"))


# --- whole splits ------------------------------------------------------------

@pytest.mark.parametrize("convention", ["pt", "prompt2sign"])
def test_split_round_trip(tmp_path, convention):
  records = _records()
  written = skels.write_split(tmp_path, "train", records,
                              convention=convention)
  assert set(written) == {"skels", "text", "files", "gloss"}
  result = skels.read_split(tmp_path, "train")
  assert result.convention == convention
  assert result.skipped == [] and result.num_lines == 3
  for a, b in zip(records, result.records):
    assert (a.id, a.text, a.gloss) == (b.id, b.text, b.gloss)
    assert b.pose.dtype == np.float32 and b.pose.shape == a.pose.shape
    np.testing.assert_allclose(b.pose, a.pose, atol=0.5e-5 * 9 + 1e-6)
  # Writing what was read reproduces the files byte for byte.
  skels.write_split(tmp_path / "again", "train", result.records,
                    convention=convention)
  for ext in ("skels", "text", "files", "gloss"):
    assert (tmp_path / f"train.{ext}").read_bytes() == (
        tmp_path / "again" / f"train.{ext}").read_bytes()


def test_split_without_gloss(tmp_path):
  skels.write_split(tmp_path, "dev", _records(gloss=False), convention="pt")
  assert not (tmp_path / "dev.gloss").exists()
  result = skels.read_split(tmp_path, "dev", convention="pt")
  assert all(r.gloss is None for r in result.records)


def test_hand_written_file_is_reproduced(tmp_path):
  line = _frame_line(3, "pt", value="-0.12345")
  _write_raw(tmp_path, "test", [line, _frame_line(2, "pt")], gloss=True)
  result = skels.read_split(tmp_path, "test")
  assert result.convention == "pt" and not result.neck_centred
  np.testing.assert_allclose(result.records[0].pose, -0.37035, rtol=1e-6)
  skels.write_split(tmp_path / "out", "test", result.records,
                    convention="pt")
  for ext in ("skels", "text", "files", "gloss"):
    assert (tmp_path / f"test.{ext}").read_bytes() == (
        tmp_path / "out" / f"test.{ext}").read_bytes()


def test_text_with_line_break_cannot_be_written(tmp_path):
  records = _records(1)
  records[0].text = "two\nlines"
  with pytest.raises(ValueError, match="line break"):
    skels.write_split(tmp_path, "train", records, convention="pt")


# --- bad input ---------------------------------------------------------------

BAD_LINES = {
    "not a number": _frame_line(2, "pt").replace("0.10000", "abc", 1),
    "not a multiple of 151": _frame_line(2, "pt") + " 0.5",
    "non-finite": _frame_line(2, "pt").replace("0.10000", "nan", 1),
    "non-finite value 'inf'": _frame_line(2, "pt").replace("0.10000", "inf",
                                                           1),
    "empty sequence": "",
    "neither convention": _frame_line(2, "pt").replace("0.5000", "0.7000"),
}


@pytest.mark.parametrize("problem", sorted(BAD_LINES))
def test_bad_line_raises_naming_file_and_line(tmp_path, problem):
  good = _frame_line(2, "pt")
  _write_raw(tmp_path, "train", [good, BAD_LINES[problem], good])
  with pytest.raises(errors.FormatError) as info:
    skels.read_split(tmp_path, "train")
  message = str(info.value)
  assert "train.skels" in message and "line 2" in message
  assert problem in message
  assert info.value.line == 2


def test_bad_value_names_frame_and_value(tmp_path):
  tokens = _frame_line(3, "pt").split()
  tokens[151 * 2 + 4] = "1.2.3"
  _write_raw(tmp_path, "train", [" ".join(tokens)])
  with pytest.raises(errors.FormatError,
                     match=r"line 1, frame 2, value 4: not a number: '1.2.3'"
                     r" \(joint 1 y\)"):
    skels.read_split(tmp_path, "train")


def test_skip_mode_lists_every_bad_line(tmp_path):
  good = _frame_line(2, "pt")
  lines = [good] + [BAD_LINES[k] for k in sorted(BAD_LINES)] + [good]
  _write_raw(tmp_path, "train", lines)
  result = skels.read_split(tmp_path, "train", on_error="skip")
  assert len(result.records) == 2
  assert len(result.records) + len(result.skipped) == len(lines)
  assert result.num_lines == len(lines)
  assert [s.line for s in result.skipped] == list(range(2, len(lines)))
  assert all("train.skels" in s.reason for s in result.skipped)
  assert result.skipped[0].id == "id1"


def test_duplicate_id_and_empty_text(tmp_path):
  good = _frame_line(2, "pt")
  _write_raw(tmp_path, "train", [good, good, good])
  (tmp_path / "train.files").write_text("a\nb\na\n")
  (tmp_path / "train.text").write_text("x\n \ny\n")
  result = skels.read_split(tmp_path, "train", on_error="skip")
  assert [r.id for r in result.records] == ["a"]
  reasons = [s.reason for s in result.skipped]
  assert "empty text" in reasons[0] and "train.text" in reasons[0]
  assert "duplicate clip id 'a' (first on line 1)" in reasons[1]


def test_bad_utf8(tmp_path):
  _write_raw(tmp_path, "train", [_frame_line(2, "pt")])
  (tmp_path / "train.text").write_bytes(b"caf\xe9\n")
  with pytest.raises(errors.FormatError, match="train.text, line 1: not UTF"):
    skels.read_split(tmp_path, "train")


def test_mismatched_line_counts_always_raise(tmp_path):
  _write_raw(tmp_path, "train", [_frame_line(2, "pt")] * 3)
  (tmp_path / "train.text").write_text("only one\n")
  for on_error in ("raise", "skip"):
    with pytest.raises(errors.FormatError,
                       match="train.skels 3, train.text 1, train.files 3"):
      skels.read_split(tmp_path, "train", on_error=on_error)


def test_unknown_split(tmp_path):
  _write_raw(tmp_path, "train", [_frame_line(2, "pt")])
  with pytest.raises(errors.FormatError, match=r"missing test.skels.*train"):
    skels.read_split(tmp_path, "test")
  (tmp_path / "train.files").unlink()
  with pytest.raises(errors.FormatError, match="missing train.files"):
    skels.read_split(tmp_path, "train")
  with pytest.raises(errors.FormatError, match="not a directory"):
    skels.read_split(tmp_path / "nope", "train")


def test_declared_convention_contradicted(tmp_path):
  _write_raw(tmp_path, "train", [_frame_line(2, "pt")] * 2)
  for on_error in ("raise", "skip"):
    with pytest.raises(errors.ConventionError,
                       match="declared convention 'prompt2sign'.*'pt'"):
      skels.read_split(tmp_path, "train", convention="prompt2sign",
                       on_error=on_error)
  assert skels.read_split(tmp_path, "train", convention="pt").convention == (
      "pt")


def test_mixed_conventions_in_one_split(tmp_path):
  _write_raw(tmp_path, "train", [_frame_line(2, "pt"),
                                 _frame_line(2, "prompt2sign")])
  with pytest.raises(errors.FormatError, match="line 2: counter follows"):
    skels.read_split(tmp_path, "train")
  result = skels.read_split(tmp_path, "train", on_error="skip")
  assert result.convention == "pt" and len(result.skipped) == 1


def test_empty_split(tmp_path):
  _write_raw(tmp_path, "train", [])
  result = skels.read_split(tmp_path, "train")
  assert result.records == [] and result.convention == "unknown"


def test_bad_arguments(tmp_path):
  with pytest.raises(ValueError, match="on_error"):
    skels.read_split(tmp_path, "train", on_error="ignore")
  with pytest.raises(ValueError, match="unknown convention"):
    skels.read_split(tmp_path, "train", convention="pt3")


# --- property-based ----------------------------------------------------------

_coords = st.floats(-40, 40, allow_nan=False, width=32)


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(
    pose=hnp.arrays(np.float32, st.tuples(st.integers(1, 4), st.just(50),
                                          st.just(3)), elements=_coords),
    convention=st.sampled_from(["pt", "prompt2sign"]),
    missing=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 49)),
                     max_size=4))
def test_random_poses_round_trip(pose, convention, missing):
  conv = skels.CONVENTIONS[convention]
  if convention == "prompt2sign":
    for t, j in missing:
      pose[min(t, len(pose) - 1), j] = np.nan
  line = skels.format_sequence(pose, convention)
  back = skels.parse_sequence(line, convention)
  # Writing what was read gives the same line.
  assert skels.format_sequence(back, convention) == line
  # Values agree to the printed precision, except what the sentinel merges.
  expected = pose.astype(np.float64)
  if convention == "prompt2sign":
    file_values = np.round(expected / 9, 5)
    merged = (file_values == skels.SENTINEL) | (expected == 0)
    whole = (merged | np.isnan(expected)).all(-1)
    expected[merged] = 0.0
    expected[whole] = np.nan
    printed_zero = (file_values == 0) & ~merged
    expected[printed_zero] = 0.0
    back = back.astype(np.float64)
    back[printed_zero] = 0.0
  np.testing.assert_allclose(back, expected, equal_nan=True,
                             atol=0.5 * 10.0 ** -conv.decimals * conv.divisor
                             + 1e-5)


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(text=st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(["0.1", "-0.2", "1.0", "x", "nan", "", "1e3",
                              "--1", "0.0000", "inf", "٣"]),
             max_size=460).map(" ".join)))
def test_garbage_gives_format_error_only(text):
  try:
    skels.parse_sequence(text, "pt", path="g.skels", line=1)
  except errors.FormatError as e:
    assert str(e).startswith("g.skels, line 1")
