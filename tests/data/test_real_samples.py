"""Format readers and writers on the shared real samples (../shared/data)."""

import numpy as np
import pose_format
import pytest
import tensorflow_datasets as tfds

from signllm_jax import skeleton
from signllm_jax.data import pose_io
from signllm_jax.data import skels
from tfds_builders import prompt2sign

pytestmark = pytest.mark.real_data

TRAIN_FRAMES = [86, 126, 168, 185, 71]
DEV_FRAMES = [42, 111, 148, 142, 93]


@pytest.mark.parametrize("split,frames", [("train", TRAIN_FRAMES),
                                          ("dev", DEV_FRAMES)])
def test_phoenix14t_pt_read_write_is_byte_identical(sample_data_dir,
                                                     tmp_path, split, frames):
  source = sample_data_dir / "phoenix14t_pt"
  result = skels.read_split(source, split)
  assert result.convention == "pt" and result.neck_centred
  assert result.skipped == []
  assert [r.pose.shape[0] for r in result.records] == frames
  first = result.records[0]
  assert first.id.startswith(f"{split}/")
  assert first.gloss and first.text.endswith(" .")
  assert np.all(first.pose[:, skeleton.NECK] == 0)
  assert not np.isnan(first.pose).any()
  # The first value of the train file is -0.00565 (PT divides by 3).
  if split == "train":
    assert first.pose[0, 0, 0] == np.float32(-0.00565 * 3)
  skels.write_split(tmp_path, split, result.records, convention="pt")
  for ext in ("skels", "text", "files", "gloss"):
    assert (tmp_path / f"{split}.{ext}").read_bytes() == (
        source / f"{split}.{ext}").read_bytes(), ext


def test_phoenix14t_pt_declared_prompt2sign_is_refused(sample_data_dir):
  with pytest.raises(skels.FormatError, match="declared convention"):
    skels.read_split(sample_data_dir / "phoenix14t_pt", "train",
                     convention="prompt2sign")


def test_phoenix14t_pt_to_prompt2sign_and_back(sample_data_dir, tmp_path):
  result = skels.read_split(sample_data_dir / "phoenix14t_pt", "dev")
  skels.write_split(tmp_path, "dev", result.records,
                    convention="prompt2sign")
  back = skels.read_split(tmp_path, "dev")
  assert back.convention == "prompt2sign"
  for a, b in zip(result.records, back.records):
    # The neck (0, 0, 0 in PT) becomes the sentinel, hence NaN.
    assert np.isnan(b.pose[:, skeleton.NECK]).all()
    keep = ~np.isnan(b.pose)
    np.testing.assert_allclose(b.pose[keep], a.pose[keep], atol=0.15)
    close = np.abs(b.pose - a.pose) < 5e-5
    assert close[keep].mean() > 0.999


EXPECTED_UNMAPPED = {
    "openpose.pose": ((), set()),
    "openpose_example.pose": ((), set()),
    "mediapipe.pose": (("NOSE",), {"NECK"}),
    "mediapipe_long.pose": (("NOSE",), {"NECK"}),
    "holistic_example.pose": ((), {"NECK"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_UNMAPPED))
def test_pose_samples_map_to_50_joints(sample_data_dir, name):
  path = sample_data_dir / "pose_format" / name
  result = pose_io.read_pose(path)
  raw = pose_format.Pose.read(path.read_bytes())
  assert result.pose.shape == (raw.body.data.shape[0], 50, 3)
  unmapped, synthesised = EXPECTED_UNMAPPED[name]
  assert result.unmapped == unmapped
  assert set(result.synthesised) == synthesised
  for joint_name in unmapped:
    assert np.isnan(result.pose[:, skeleton.JOINT_NAMES.index(joint_name)]
                    ).all()
  # Body joints that exist are present in most frames.
  body = result.pose[:, 1:8]
  assert (~np.isnan(body).any(-1)).mean() > 0.5
  # Points with confidence 0 are NaN, not 0.
  assert not (result.pose[..., :2] == 0).all(-1).any()


def test_openpose_sample_values(sample_data_dir):
  path = sample_data_dir / "pose_format" / "openpose.pose"
  raw = pose_format.Pose.read(path.read_bytes())
  result = pose_io.read_pose(path)
  data = np.ma.getdata(raw.body.data)[:, 0]
  conf = raw.body.confidence[:, 0]
  t = int(np.argmax(conf[:, :8].min(-1)))  # a frame with all 8 body joints
  np.testing.assert_array_equal(result.pose[t, :8, :2], data[t, :8])
  right = raw.header.get_point_index("hand_right_keypoints_2d", "BASE")
  ok = conf[:, right] > 0
  np.testing.assert_array_equal(
      result.pose[ok, skeleton.RIGHT_HAND_ROOT, :2], data[ok, right])


def test_lexicon_signs_round_trip_through_our_writer(sample_data_dir,
                                                     tmp_path):
  for path in sorted((sample_data_dir / "spoken_to_signed" / "dummy_lexicon"
                      ).rglob("*.pose")):
    result = pose_io.read_pose(path)
    assert result.layout == "mediapipe" and result.unmapped == ("NOSE",)
    out = pose_io.write_pose(tmp_path / path.name, result.pose, result.fps)
    back = pose_format.Pose.read(out.read_bytes())
    np.testing.assert_array_equal(
        np.ma.getdata(back.body.data)[:, 0][~np.isnan(result.pose)],
        result.pose[~np.isnan(result.pose)])
    again, fps = pose_io.read_internal_pose(out)
    np.testing.assert_array_equal(again, result.pose)
    assert fps == result.fps


def test_prompt2sign_builder_on_phoenix14t(sample_data_dir, tmp_path):
  builder = prompt2sign.build("gsl_v1",
                              manual_dir=sample_data_dir / "phoenix14t_pt",
                              data_dir=tmp_path)
  source = tfds.data_source("prompt2sign/gsl_v1", data_dir=tmp_path,
                            split="train")
  examples = [source[i] for i in range(len(source))]
  assert [e["pose"].shape[0] for e in examples] == TRAIN_FRAMES
  first = examples[0]
  assert first["lang"] == b"GSL"
  assert first["gloss"] == b"JETZT WETTER MORGEN DONNERSTAG ZWOELF FEBRUAR"
  assert first["lang_gloss"].startswith(b"GSL JETZT GSL WETTER ")
  assert first["text"].decode() in first["prompt"].decode()
  assert np.all(first["pose"][:, skeleton.NECK] == 0)
  meta = builder.info.metadata
  assert (meta["convention"], meta["divisor"], meta["neck_centred"]) == (
      "pt", 3.0, True)
  assert len(tfds.data_source("prompt2sign/gsl_v1", data_dir=tmp_path,
                              split="dev")) == 5
