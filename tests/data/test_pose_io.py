"""Tests for .pose files (pose-format) <-> the 50 internal joints."""

import io

import numpy as np
import pose_format
from pose_format import pose_header
from pose_format.numpy import NumPyPoseBody
import pytest

from signllm_jax import skeleton
from signllm_jax.data import errors
from signllm_jax.data import pose_io

_OPENPOSE_BODY = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist",
                  "LShoulder", "LElbow", "LWrist", "MidHip", "RHip", "RKnee",
                  "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar",
                  "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe",
                  "RSmallToe", "RHeel"]
_MP_BODY = ["LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_ELBOW", "RIGHT_ELBOW",
            "LEFT_WRIST", "RIGHT_WRIST", "LEFT_HIP", "RIGHT_HIP"]


def _component(name, points, fmt):
  return pose_header.PoseHeaderComponent(
      name=name, points=list(points), limbs=[(0, 1)], colors=[(255, 0, 0)],
      point_format=fmt)


def _write_layout(path, components, num_frames=3, dims=2, seed=0):
  header = pose_header.PoseHeader(
      0.2, pose_header.PoseHeaderDimensions(100, 100, 0), components)
  num_points = sum(len(c.points) for c in components)
  rng = np.random.default_rng(seed)
  data = rng.uniform(1, 99, (num_frames, 1, num_points, dims)).astype(
      np.float32)
  confidence = np.ones((num_frames, 1, num_points), np.float32)
  confidence[0, 0, 2] = 0  # point 2 missing in frame 0
  body = NumPyPoseBody(fps=25, data=data, confidence=confidence)
  buffer = io.BytesIO()
  pose_format.Pose(header, body).write(buffer)
  path.write_bytes(buffer.getvalue())
  return data[:, 0]


def _hands(fmt, names):
  hand = [f"P{i}" for i in range(21)]
  return [_component(names[0], hand, fmt), _component(names[1], hand, fmt)]


def test_openpose_layout(tmp_path):
  comps = [_component("pose_keypoints_2d", _OPENPOSE_BODY, "XYC"),
           _component("face_keypoints_2d", [f"F{i}" for i in range(70)],
                      "XYC")] + _hands(
                          "XYC", ("hand_left_keypoints_2d",
                                  "hand_right_keypoints_2d"))
  data = _write_layout(tmp_path / "op.pose", comps)
  result = pose_io.read_pose(tmp_path / "op.pose")
  assert (result.layout, result.num_points) == ("openpose", 137)
  assert result.unmapped == () and result.synthesised == {}
  assert result.is_2d and result.fps == 25
  pose = result.pose
  assert pose.shape == (3, 50, 3) and pose.dtype == np.float32
  np.testing.assert_allclose(pose[1, :8, :2], data[1, :8])
  assert (pose[..., 2][~np.isnan(pose[..., 2])] == 0).all()
  assert np.isnan(pose[0, 2]).all() and not np.isnan(pose[1, 2]).any()
  np.testing.assert_allclose(pose[:, 8:29, :2], data[:, 95:116])
  np.testing.assert_allclose(pose[:, 29:, :2], data[:, 116:137])
  z_nan = pose_io.read_pose(tmp_path / "op.pose", z_fill=np.nan).pose
  assert np.isnan(z_nan[..., 2]).all()


def test_mediapipe_layout_synthesises_neck(tmp_path):
  comps = [_component("POSE_LANDMARKS", _MP_BODY, "XYZC"),
           _component("FACE_LANDMARKS", [str(i) for i in range(128)],
                      "XYZC")] + _hands(
                          "XYZC", ("LEFT_HAND_LANDMARKS",
                                   "RIGHT_HAND_LANDMARKS"))
  data = _write_layout(tmp_path / "mp.pose", comps, dims=3)
  result = pose_io.read_pose(tmp_path / "mp.pose")
  assert (result.layout, result.num_points) == ("mediapipe", 178)
  assert result.unmapped == ("NOSE",)
  assert "NECK" in result.synthesised
  pose = result.pose
  assert np.isnan(pose[:, skeleton.NOSE]).all()
  np.testing.assert_allclose(pose[:, skeleton.R_SHOULDER], data[:, 1])
  np.testing.assert_allclose(pose[:, skeleton.L_WRIST], data[:, 4])
  np.testing.assert_allclose(pose[1, skeleton.NECK],
                             (data[1, 0] + data[1, 1]) / 2, rtol=1e-6)
  np.testing.assert_allclose(pose[:, 8:29], data[:, 136:157])
  no_neck = pose_io.read_pose(tmp_path / "mp.pose", synthesise_neck=False)
  assert set(no_neck.unmapped) == {"NOSE", "NECK"}
  assert np.isnan(no_neck.pose[:, skeleton.NECK]).all()


def test_unknown_layout(tmp_path):
  _write_layout(tmp_path / "x.pose",
                [_component("BODY", ["A", "B", "C"], "XYC")])
  with pytest.raises(errors.FormatError, match=r"x.pose: unknown .pose "
                     r"layout; components \['BODY'\]"):
    pose_io.read_pose(tmp_path / "x.pose")


def test_write_then_pose_format_reads_it(tmp_path):
  rng = np.random.default_rng(1)
  pose = rng.normal(size=(5, 50, 3)).astype(np.float32)
  pose[2, 17] = np.nan
  path = pose_io.write_pose(tmp_path / "out.pose", pose, 25.0, width=640,
                            height=480, depth=10)
  read = pose_format.Pose.read(path.read_bytes())
  (component,) = read.header.components
  assert component.name == pose_io.COMPONENT
  assert tuple(component.points) == skeleton.JOINT_NAMES
  assert [tuple(l) for l in component.limbs] == list(skeleton.BONES)
  assert len(component.colors) == len(skeleton.BONES)
  assert component.format == "XYZC"
  assert read.body.fps == 25
  assert (read.header.dimensions.width, read.header.dimensions.height) == (
      640, 480)
  data = read.body.data[:, 0]
  assert data.mask[2, 17].all() and not data.mask[2, 16].any()
  assert read.body.confidence[2, 0, 17] == 0
  np.testing.assert_array_equal(np.ma.getdata(data)[3], pose[3])
  back, fps = pose_io.read_internal_pose(path)
  np.testing.assert_array_equal(back, pose)
  assert fps == 25.0


def test_write_rejects_bad_input(tmp_path):
  with pytest.raises(ValueError, match="shape|expected"):
    pose_io.write_pose(tmp_path / "a.pose", np.zeros((2, 3)), 25)
  with pytest.raises(ValueError, match="fps"):
    pose_io.write_pose(tmp_path / "a.pose", np.zeros((2, 50, 3)), 0)


@pytest.mark.parametrize("cut", [0, 3, 40, 400, -1])
def test_truncated_file(tmp_path, cut):
  path = pose_io.write_pose(tmp_path / "ok.pose",
                            np.ones((4, 50, 3), np.float32), 25)
  data = path.read_bytes()
  bad = tmp_path / "bad.pose"
  bad.write_bytes(data[:cut] if cut >= 0 else data[:-5])
  with pytest.raises(errors.FormatError, match="bad.pose: truncated or "
                     "corrupt"):
    pose_io.read_pose(bad)


def test_missing_file(tmp_path):
  with pytest.raises(errors.FormatError, match="nope.pose: cannot read"):
    pose_io.read_pose(tmp_path / "nope.pose")


def _mediapipe_components(fmt):
  return [_component("POSE_LANDMARKS", _MP_BODY, fmt),
          _component("FACE_LANDMARKS", [str(i) for i in range(128)],
                     fmt)] + _hands(fmt, ("LEFT_HAND_LANDMARKS",
                                          "RIGHT_HAND_LANDMARKS"))


def _write_raw(path, components, data, confidence):
  header = pose_header.PoseHeader(
      0.2, pose_header.PoseHeaderDimensions(100, 100, 0), components)
  body = NumPyPoseBody(fps=25, data=data, confidence=confidence)
  buffer = io.BytesIO()
  pose_format.Pose(header, body).write(buffer)
  path.write_bytes(buffer.getvalue())


def test_nan_on_confident_points_is_missing_and_counted(tmp_path):
  rng = np.random.default_rng(3)
  data = rng.uniform(1, 99, (4, 1, 178, 3)).astype(np.float32)
  confidence = np.ones((4, 1, 178), np.float32)
  data[1, 0, 140, 0] = np.nan  # left hand point 4, frame 1
  data[3, 0, 160] = np.nan  # right hand point 3, frame 3
  data[2, 0, 20] = np.nan  # a face point: counted though not mapped
  confidence[0, 0, 137] = 0
  data[0, 0, 137] = np.nan  # confidence 0: missing anyway, not counted
  _write_raw(tmp_path / "nan.pose", _mediapipe_components("XYZC"), data,
             confidence)
  result = pose_io.read_pose(tmp_path / "nan.pose")
  assert result.num_nan_points == 3 and result.dropped_dims == 0
  pose = result.pose
  assert np.isnan(pose[1, skeleton.LEFT_HAND_ROOT + 4]).all()
  assert np.isnan(pose[3, skeleton.RIGHT_HAND_ROOT + 3]).all()
  assert np.isnan(pose[0, skeleton.LEFT_HAND_ROOT + 1]).all()
  np.testing.assert_allclose(pose[0, skeleton.LEFT_HAND_ROOT + 4],
                             data[0, 0, 140])
  # Only the four marked points (and the unmapped NOSE) are NaN.
  assert np.isnan(pose).any(-1).sum() == 3 + 4


def test_four_dimensional_points_keep_xyz(tmp_path):
  rng = np.random.default_rng(4)
  data = rng.uniform(1, 99, (2, 1, 178, 4)).astype(np.float32)
  _write_raw(tmp_path / "4d.pose", _mediapipe_components("XYZWC"), data,
             np.ones((2, 1, 178), np.float32))
  result = pose_io.read_pose(tmp_path / "4d.pose")
  assert result.dropped_dims == 1 and not result.is_2d
  np.testing.assert_allclose(result.pose[:, skeleton.LEFT_HAND_ROOT:
                                         skeleton.LEFT_HAND_ROOT + 21],
                             data[:, 0, 136:157, :3])


def test_unreadable_variants_keep_a_clear_error(tmp_path):
  data = np.ones((2, 1, 178, 5), np.float32)
  _write_raw(tmp_path / "5d.pose", _mediapipe_components("XYZWVC"), data,
             np.ones((2, 1, 178), np.float32))
  with pytest.raises(errors.FormatError,
                     match=r"5d.pose: 5-dimensional points \(expected 2, 3"):
    pose_io.read_pose(tmp_path / "5d.pose")
  data = np.ones((2, 1, 178, 3), np.float32)
  data[1, 0, 7, 2] = np.inf
  _write_raw(tmp_path / "inf.pose", _mediapipe_components("XYZC"), data,
             np.ones((2, 1, 178), np.float32))
  with pytest.raises(errors.FormatError,
                     match=r"inf.pose, frame 1, value 7: infinite coordinate"):
    pose_io.read_pose(tmp_path / "inf.pose")
