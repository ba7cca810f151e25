"""Tests for reading OpenPose JSON clips."""

import json

import numpy as np
import pytest

from signllm_jax.data import errors
from signllm_jax.data import openpose


def _person(t, left=True, right=True, nose_x=None):
  """A person whose every x encodes the frame t (x = 100 t + joint + 1)."""
  body = []
  for j in range(25):
    body += [100.0 * t + j + 1, 10.0 + j, 0.9]
  if nose_x is not None:
    body[0] = nose_x
  person = {"person_id": [-1], "pose_keypoints_2d": body,
            "face_keypoints_2d": [0.0] * 210}
  if left is not None:
    person["hand_left_keypoints_2d"] = (
        [v for k in range(21) for v in (500.0 + k, 50.0, 0.5)] if left
        else [])
  if right is not None:
    person["hand_right_keypoints_2d"] = (
        [v for k in range(21) for v in (600.0 + k, 60.0, 0.7)] if right
        else [])
  return person


def _write(folder, name, people):
  folder.mkdir(exist_ok=True)
  (folder / name).write_text(json.dumps({"version": 1.3, "people": people}))


def test_frames_ordered_by_number_not_name(tmp_path):
  clip = tmp_path / "clip"
  # Unpadded numbers: string order would put 10 before 2.
  for t in (10, 2, 0, 1, 11, 3):
    _write(clip, f"vid_{t}_keypoints.json", [_person(t)])
  result = openpose.read_openpose_clip(clip)
  assert result.xyc_TxJx3.shape == (6, 50, 3)
  assert result.xyc_TxJx3.dtype == np.float32
  np.testing.assert_array_equal(result.xyc_TxJx3[:, 0, 0],
                                [1, 101, 201, 301, 1001, 1101])
  assert result.frame_names[4] == "vid_10_keypoints.json"
  # Gaps in the numbering are reported, not hidden.
  assert [d[0] for d in result.dropped] == [f"frame {k}" for k in range(4, 10)]
  assert result.num_files == 6


def test_joint_layout(tmp_path):
  clip = tmp_path / "clip"
  _write(clip, "a_000000000000_keypoints.json", [_person(0)])
  xyc = openpose.read_openpose_clip(clip).xyc_TxJx3[0]
  np.testing.assert_allclose(xyc[:8, 0], np.arange(1, 9))  # BODY_25 0-7
  np.testing.assert_allclose(xyc[8:29], [[500 + k, 50, 0.5]
                                         for k in range(21)])
  np.testing.assert_allclose(xyc[29:], [[600 + k, 60, 0.7]
                                        for k in range(21)])


def test_no_person_and_missing_nose_dropped_and_reported(tmp_path):
  clip = tmp_path / "clip"
  _write(clip, "a_000000000000_keypoints.json", [_person(0)])
  _write(clip, "a_000000000001_keypoints.json", [])
  _write(clip, "a_000000000002_keypoints.json", [_person(2, nose_x=0.0)])
  _write(clip, "a_000000000003_keypoints.json", [_person(3)])
  result = openpose.read_openpose_clip(clip)
  assert result.num_frames == 2
  np.testing.assert_array_equal(result.xyc_TxJx3[:, 0, 0], [1, 301])
  assert result.frame_names == ("a_000000000000_keypoints.json",
                                "a_000000000003_keypoints.json")
  reasons = dict(result.dropped)
  assert set(reasons) == {"a_000000000001_keypoints.json",
                          "a_000000000002_keypoints.json"}
  assert "no person" in reasons["a_000000000001_keypoints.json"]
  assert "x == 0" in reasons["a_000000000002_keypoints.json"]


def test_missing_hands_get_zero_confidence(tmp_path):
  clip = tmp_path / "clip"
  _write(clip, "a_0_keypoints.json", [_person(0, left=None)])  # key absent
  _write(clip, "a_1_keypoints.json", [_person(1, right=False)])  # []
  xyc = openpose.read_openpose_clip(clip).xyc_TxJx3
  np.testing.assert_array_equal(xyc[0, 8:29], 0)
  np.testing.assert_allclose(xyc[0, 29:, 2], 0.7)
  np.testing.assert_array_equal(xyc[1, 29:], 0)
  np.testing.assert_allclose(xyc[1, 8:29, 2], 0.5)


def test_multiple_people_uses_first_and_reports(tmp_path):
  clip = tmp_path / "clip"
  _write(clip, "a_0_keypoints.json", [_person(0), _person(7)])
  result = openpose.read_openpose_clip(clip)
  assert result.xyc_TxJx3[0, 0, 0] == 1
  assert result.multi_person == ("a_0_keypoints.json",)


def test_bad_json_names_the_file(tmp_path):
  clip = tmp_path / "clip"
  _write(clip, "a_0_keypoints.json", [_person(0)])
  (clip / "a_1_keypoints.json").write_text('{"people": [')
  with pytest.raises(errors.FormatError, match="a_1_keypoints.json.*JSON"):
    openpose.read_openpose_clip(clip)


def test_wrong_value_count_is_an_error(tmp_path):
  clip = tmp_path / "clip"
  person = _person(0)
  person["pose_keypoints_2d"] = person["pose_keypoints_2d"][:54]  # COCO-18
  _write(clip, "a_0_keypoints.json", [person])
  with pytest.raises(errors.FormatError,
                     match=r"a_0_keypoints.json.*75 values.*got 54"):
    openpose.read_openpose_clip(clip)
  person = _person(0)
  person["hand_left_keypoints_2d"] = [1.0] * 62
  _write(clip, "a_0_keypoints.json", [person])
  with pytest.raises(errors.FormatError, match="hand_left.*got 62"):
    openpose.read_openpose_clip(clip)
  person["hand_left_keypoints_2d"] = ["1"] * 63
  _write(clip, "a_0_keypoints.json", [person])
  with pytest.raises(errors.FormatError, match="value 0"):
    openpose.read_openpose_clip(clip)


def test_empty_or_unnumbered_folder_is_an_error(tmp_path):
  (tmp_path / "empty").mkdir()
  with pytest.raises(errors.FormatError, match="empty.*no .json"):
    openpose.read_openpose_clip(tmp_path / "empty")
  _write(tmp_path / "odd", "keypoints.json", [_person(0)])
  with pytest.raises(errors.FormatError, match="frame number"):
    openpose.read_openpose_clip(tmp_path / "odd")
  _write(tmp_path / "not_openpose", "a_0_keypoints.json", [])
  (tmp_path / "not_openpose" / "a_0_keypoints.json").write_text("[1, 2]")
  with pytest.raises(errors.FormatError, match="people"):
    openpose.read_openpose_clip(tmp_path / "not_openpose")
