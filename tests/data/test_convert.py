"""Tests for converting folders of OpenPose clips into a `.skels` split."""

import json

import numpy as np
import pytest

from signllm_jax.data import convert
from signllm_jax.data import errors
from signllm_jax.data import skels


def _frame(t, rng):
  """A plausible upper body + hands in pixels, jittered per frame."""
  body = np.array([[640, 200], [640, 330], [540, 335], [500, 470],
                   [560, 560], [740, 335], [780, 470], [720, 560]], float)
  hand = np.array([[0, 0]] + [[(f - 2) * 12 + k * 2, -20 - 12 * k]
                              for f in range(5) for k in range(4)], float)
  points = np.concatenate([body, hand + body[7], hand * [-1, 1] + body[4]])
  points += 5 * np.sin(t / 3) + rng.normal(0, 1, points.shape)
  return points


def _write_clip(folder, num_frames, empty=(), seed=0):
  rng = np.random.default_rng(seed)
  folder.mkdir(parents=True)
  for t in range(num_frames):
    xy = _frame(t, rng)
    xyc = np.concatenate([xy, np.full((50, 1), 0.8)], 1)
    body = np.zeros((25, 3))
    body[:8] = xyc[:8]
    people = [] if t in empty else [{
        "pose_keypoints_2d": body.ravel().tolist(),
        "hand_left_keypoints_2d": xyc[8:29].ravel().tolist(),
        "hand_right_keypoints_2d": xyc[29:].ravel().tolist()}]
    (folder / f"{folder.name}_{t:012d}_keypoints.json").write_text(
        json.dumps({"version": 1.3, "people": people}))


def test_convert_writes_split_and_reports(tmp_path):
  in_dir = tmp_path / "json"
  _write_clip(in_dir / "clip_a", 20, empty=(3,))
  _write_clip(in_dir / "clip_b", 12, seed=1)
  _write_clip(in_dir / "clip_c", 2, empty=(0, 1))
  text = tmp_path / "t.text"
  text.write_text('"Say ""hi"" now."\nunused\n')
  (tmp_path / "t.files").write_text("clip_a\nclip_z\n")
  report = convert.convert_openpose(in_dir, tmp_path / "out", split="dev",
                                    text_file=text, progress=False)
  assert [c.id for c in report.clips] == ["clip_a", "clip_b"]
  a, b = report.clips
  assert (a.frames_in, a.frames_out) == (20, 19)
  assert a.dropped == (("clip_a_000000000003_keypoints.json",
                        "no person detected"),)
  assert (b.frames_in, b.frames_out) == (12, 12)
  assert report.skipped == [("clip_c", "all 2 frames dropped")]
  assert report.missing_text == ["clip_b"]
  assert a.has_text and not b.has_text
  for c in report.clips:
    assert np.isfinite(c.reprojection_error) and c.reprojection_error < 0.1
    assert c.bone_length_cv_max < 1e-5
  summary = report.format()
  assert "clip_c" in summary and "no person detected" in summary
  assert sorted(report.written) == ["files", "skels", "text"]
  # Read the lines directly: skels.read_split refuses the empty text line.
  out = tmp_path / "out"
  assert (out / "dev.files").read_text() == "clip_a\nclip_b\n"
  assert (out / "dev.text").read_text() == 'Say "hi" now.\n\n'
  lines = (out / "dev.skels").read_text().splitlines()
  frames = [skels.parse_frames(line) for line in lines]
  assert [f.shape for f in frames] == [(19, 151), (12, 151)]
  np.testing.assert_allclose(frames[0][:, -1], np.arange(1, 20) / 19,
                             atol=1e-5)  # Prompt2Sign counter i / T
  # The empty sentence is a bad example by default, readable when allowed.
  with pytest.raises(errors.FormatError, match="empty text"):
    skels.read_split(out, "dev")
  result = skels.read_split(out, "dev", allow_empty_text=True)
  assert [r.text for r in result.records] == ['Say "hi" now.', ""]
  assert [r.pose.shape for r in result.records] == [(19, 50, 3), (12, 50, 3)]


def test_convert_errors(tmp_path):
  in_dir = tmp_path / "json"
  _write_clip(in_dir / "good", 4)
  (in_dir / "bad").mkdir()
  (in_dir / "bad" / "bad_0_keypoints.json").write_text("{")
  with pytest.raises(errors.FormatError, match="bad_0_keypoints.json"):
    convert.convert_openpose(in_dir, tmp_path / "out", progress=False)
  report = convert.convert_openpose(in_dir, tmp_path / "out", progress=False,
                                    on_error="skip")
  assert [c.id for c in report.clips] == ["good"]
  assert report.skipped[0][0] == "bad" and "JSON" in report.skipped[0][1]
  with pytest.raises(errors.FormatError, match="no clip sub-folders"):
    convert.convert_openpose(in_dir / "good", tmp_path / "out",
                             progress=False)
  (tmp_path / "x.text").write_text("a\nb\n")
  (tmp_path / "x.files").write_text("good\n")
  with pytest.raises(errors.FormatError, match="2 lines.*has 1"):
    convert.convert_openpose(in_dir, tmp_path / "out", progress=False,
                             text_file=tmp_path / "x.text")


@pytest.mark.real_data
def test_convert_real_how2sign_clips(sample_data_dir, tmp_path):
  root = sample_data_dir / "how2sign_openpose"
  report = convert.convert_openpose(
      root / "openpose_json", tmp_path, split="dev", steps=300,
      text_file=root / "text" / "how2sign_dev.text", progress=False)
  by_id = {c.id: c for c in report.clips}
  # Both clips keep every frame (no frame of these clips lacks a person).
  expected = {"_2FBDaOPYig_2-3-rgb_front": 157,
              "_2FBDaOPYig_4-3-rgb_front": 62}
  assert {k: c.frames_in for k, c in by_id.items()} == expected
  for clip_id, clip in by_id.items():
    assert clip.frames_out == expected[clip_id] - len(clip.dropped)
    assert clip.has_text
    # Measured with 300 steps: 0.086 and 0.073 normalised (12.6, 12.1 px).
    assert clip.reprojection_error < 0.12
    assert clip.reprojection_error_px < 18
    assert clip.bone_length_cv_max < 1e-5
  assert not report.skipped and not report.missing_text
  read = skels.read_split(tmp_path, "dev")
  assert read.records[0].text.startswith("So we are currently heating up")
  for record in read.records:
    pose = record.pose
    assert pose.shape == (expected[record.id], 50, 3)
    assert np.isfinite(pose).all()
    shoulders = np.linalg.norm(pose[:, 2] - pose[:, 5], axis=-1)
    # Hand width: index MCP to pinky MCP, each hand.
    hands = np.maximum(np.linalg.norm(pose[:, 13] - pose[:, 25], axis=-1),
                       np.linalg.norm(pose[:, 34] - pose[:, 46], axis=-1))
    assert (shoulders > 2 * hands).mean() > 0.95
    assert (pose[:, 0, 1] < pose[:, 1, 1]).all()  # nose above neck (y down)
    # Shoulders on either side of the neck, wrists below the shoulders on
    # most frames (signing hands do rise above them sometimes).
    assert (np.sign(pose[:, 2, 0] - pose[:, 1, 0])
            != np.sign(pose[:, 5, 0] - pose[:, 1, 0])).all()
