"""A folder of .pose files + a lexicon index CSV -> clips and the builder."""

import importlib.util
import io
import pathlib

import numpy as np
import pose_format
from pose_format import pose_header
from pose_format.numpy import NumPyPoseBody
import pytest
import tensorflow_datasets as tfds

from signllm_jax import skeleton
from signllm_jax.data import errors
from signllm_jax.data import pose_index
from signllm_jax.data import pose_io
from tfds_builders import pose_lexicon

_MP_BODY = ["LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_ELBOW", "RIGHT_ELBOW",
            "LEFT_WRIST", "RIGHT_WRIST", "LEFT_HIP", "RIGHT_HIP"]
HEADER = "path,spoken_language,signed_language,start,end,words,glosses,priority"


def _write_mediapipe(path, num_frames, *, fps=25, seed=0, nan_frame=None):
  comps = [("POSE_LANDMARKS", _MP_BODY), ("FACE_LANDMARKS",
                                          [str(i) for i in range(128)]),
           ("LEFT_HAND_LANDMARKS", [f"P{i}" for i in range(21)]),
           ("RIGHT_HAND_LANDMARKS", [f"P{i}" for i in range(21)])]
  header = pose_header.PoseHeader(0.2, pose_header.PoseHeaderDimensions(
      100, 100, 0), [pose_header.PoseHeaderComponent(
          name=n, points=p, limbs=[(0, 1)], colors=[(255, 0, 0)],
          point_format="XYZC") for n, p in comps])
  rng = np.random.default_rng(seed)
  data = rng.uniform(1, 99, (num_frames, 1, 178, 3)).astype(np.float32)
  data[:, 0, 136, 0] = np.arange(num_frames)  # left hand root x = frame
  if nan_frame is not None:
    data[nan_frame, 0, 140] = np.nan
  body = NumPyPoseBody(fps=fps, data=data,
                       confidence=np.ones((num_frames, 1, 178), np.float32))
  buffer = io.BytesIO()
  pose_format.Pose(header, body).write(buffer)
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_bytes(buffer.getvalue())


def _lexicon(tmp_path) -> pathlib.Path:
  root = tmp_path / "lex"
  _write_mediapipe(root / "ase" / "hello.pose", 10, seed=1)
  _write_mediapipe(root / "ase" / "long.pose", 50, seed=2, nan_frame=30)
  _write_mediapipe(root / "sgg" / "pizza.pose", 6, seed=3)
  (root / "sgg" / "broken.pose").write_bytes(b"\x00\x01")
  rows = [
      "ase/hello.pose,en,ase,0,0,hello,HELLO,0",          # 2 whole file
      "ase/long.pose,en,ase,400,1400,thank you,THANK-YOU,0",  # 3 frames 10-35
      "sgg/pizza.pose,de,sgg,0,0,Pizza,PIZZA,0",           # 4
      "sgg/missing.pose,de,sgg,0,0,fehlt,FEHLT,0",         # 5 no file
      "sgg/broken.pose,de,sgg,0,0,kaputt,KAPUTT,0",        # 6 corrupt
      "bfi/hello.pose,en,bfi,0,0,hello,HELLO,0",           # 7 language
      "ase/hello.pose,en,ase,0,0,hello,HELLO,1",           # 8 duplicate
      "ase/long.pose,en,ase,900,300,oops,OOPS,0",          # 9 end < start
      "ase/long.pose,en,ase,4000,5000,after,AFTER,0",      # 10 no frames
  ]
  (root / "index.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n")
  return root


def test_every_row_is_read_or_reported(tmp_path):
  root = _lexicon(tmp_path)
  report = pose_index.IndexReport()
  items = list(pose_index.iter_index(root / "index.csv", report=report))
  assert len(items) == report.rows == 9
  clips = [i for i in items if isinstance(i, pose_index.Clip)]
  assert [c.line for c in clips] == [2, 3, 4]
  assert report.read == 3 and len(report.skipped) == 6
  assert [s.line for s in report.skipped] == [5, 6, 7, 8, 9, 10]
  assert report.skipped_by_reason == {
      "missing file": 1, "unreadable .pose": 1,
      "language not in Prompt2Sign": 1, "duplicate": 1, "bad row": 1,
      "empty clip": 1}
  reasons = [s.reason for s in report.skipped]
  assert "missing.pose, line 5: cannot read" in reasons[0]
  assert "broken.pose, line 6: truncated or corrupt" in reasons[1]
  assert "line 7: signed_language 'bfi' is not mapped" in reasons[2]
  assert "duplicate clip 'ase/hello.pose' (first on line 2)" in reasons[3]
  assert "end 300 ms <= start 900 ms" in reasons[4]
  assert "no frames in [4000, 5000) ms of a 50-frame file" in reasons[5]
  hello, thanks, pizza = clips
  assert (hello.lang, hello.record.text, hello.record.gloss) == (
      "ASL", "hello", "HELLO")
  assert hello.record.pose.shape == (10, 50, 3)
  # 400..1400 ms at 25 fps (40 ms a frame) are frames 10..34.
  np.testing.assert_array_equal(
      thanks.record.pose[:, skeleton.LEFT_HAND_ROOT, 0], np.arange(10, 35))
  assert thanks.record.id == "ase/long.pose#400-1400"
  assert thanks.num_nan_points == 1 and report.num_nan_points == 1
  assert report.files_with_nan == 1
  assert np.isnan(thanks.record.pose[20, skeleton.LEFT_HAND_ROOT + 4]).all()
  assert pizza.lang == "DSGS" and pizza.spoken_language == "de"


def test_strict_reading_and_bad_indexes(tmp_path):
  root = _lexicon(tmp_path)
  with pytest.raises(errors.FormatError, match="missing.pose, line 5: "
                     "cannot read"):
    list(pose_index.iter_index(root / "index.csv", on_error="raise"))
  bad = tmp_path / "bad.csv"
  bad.write_text("path,words\nx.pose,hi\n")
  with pytest.raises(errors.FormatError, match=r"bad.csv, line 1: index "
                     r"lacks columns \['spoken_language'"):
    list(pose_index.iter_index(bad))
  with pytest.raises(errors.FormatError, match="cannot read the index"):
    list(pose_index.iter_index(tmp_path / "none.csv"))


def test_builder_keeps_every_clip_or_reports_it(tmp_path):
  root = _lexicon(tmp_path)
  builder = pose_lexicon.build(manual_dir=root, data_dir=tmp_path / "d")
  source = tfds.data_source("pose_lexicon", data_dir=tmp_path / "d",
                            split="train")
  examples = [source[i] for i in range(len(source))]
  assert [e["id"] for e in examples] == [
      b"ase/hello.pose", b"ase/long.pose#400-1400", b"sgg/pizza.pose"]
  assert [e["lang"] for e in examples] == [b"ASL", b"ASL", b"DSGS"]
  assert examples[1]["lang_gloss"] == b"ASL THANK-YOU"
  assert examples[1]["pose"].shape == (25, 50, 3)
  meta = builder.info.metadata["splits"]["train"]
  assert (meta["rows"], meta["read"], meta["num_skipped"]) == (9, 3, 6)
  assert [s["line"] for s in meta["skipped"]] == [5, 6, 7, 8, 9, 10]
  assert meta["read_by_lang"] == {"ASL": 2, "DSGS": 1}


def test_split_column(tmp_path):
  root = tmp_path / "lex"
  _write_mediapipe(root / "a.pose", 4)
  _write_mediapipe(root / "b.pose", 5, seed=1)
  (root / "index.csv").write_text(
      HEADER + ",split\na.pose,en,ase,0,0,a,A,0,train\n"
      "b.pose,en,ase,0,0,b,B,0,dev\n")
  builder = pose_lexicon.build(manual_dir=root, data_dir=tmp_path / "d")
  assert set(builder.info.splits) == {"train", "dev"}
  dev = tfds.data_source("pose_lexicon", data_dir=tmp_path / "d",
                         split="dev")
  assert len(dev) == 1 and dev[0]["id"] == b"b.pose"


@pytest.mark.real_data
def test_dummy_lexicon_sample(sample_data_dir, tmp_path):
  index = sample_data_dir / "spoken_to_signed" / "dummy_lexicon" / "index.csv"
  report = pose_index.IndexReport()
  clips = list(pose_index.iter_index(index, report=report))
  assert (report.rows, report.read) == (4, 4)
  assert [c.record.text for c in clips] == ["kleine", "kinder", "essen",
                                            "pizza"]
  assert all(c.lang == "DSGS" and c.layout == "mediapipe" for c in clips)
  for c in clips:
    present = np.isfinite(c.record.pose).all(-1)
    assert present[:, skeleton.NECK].all()  # synthesised from the shoulders
    assert present[:, skeleton.RIGHT_HAND_ROOT].any()  # the dominant hand


def _fingerspelling_dir():
  spec = importlib.util.find_spec("spoken_to_signed")
  if spec is None:
    pytest.skip("spoken-to-signed is not installed (optional fixture: pip "
                "install spoken-to-signed==0.4.0)")
  return pathlib.Path(spec.origin).parent / "assets" / (
      "fingerspelling_lexicon")


def test_spoken_to_signed_fingerspelling_fixture(tmp_path):
  root = _fingerspelling_dir()
  report = pose_index.IndexReport()
  for _ in pose_index.iter_index(root / "index.csv", report=report):
    pass
  # 626 rows: 117 in the 4 Prompt2Sign languages it has (ase, gsg, sgg,
  # tsm); the rest are other sign languages (19 folders in all).
  assert report.rows == 626 and report.read + len(report.skipped) == 626
  assert report.read_by_lang == {"ASL": 26, "GSL": 30, "DSGS": 32, "TSL": 29}
  assert report.skipped_by_reason == {"language not in Prompt2Sign": 509}
  # Every file reads, whatever its language: MediaPipe holistic, 586 points.
  files = sorted(root.glob("*/*.pose"))
  assert len(files) == 600
  layouts = {pose_io.read_pose(f).num_points for f in files[::25]}
  assert layouts == {586}
  builder = pose_lexicon.build(manual_dir=root, data_dir=tmp_path / "d")
  assert builder.info.splits["train"].num_examples == 117


def test_build_dataset_dispatch(tmp_path):
  from signllm_jax.data import datasets  # pylint: disable=g-import-not-at-top
  root = _lexicon(tmp_path)
  with pytest.raises(errors.FormatError, match="line 5: cannot read"):
    datasets.build_dataset("pose_lexicon", "default", manual_dir=root,
                           data_dir=tmp_path / "strict", progress=False)
  path = datasets.build_dataset("pose_lexicon", "default", manual_dir=root,
                                data_dir=tmp_path / "d", progress=False,
                                skip_bad=True)
  assert path == datasets.dataset_dir("pose_lexicon", "default",
                                      tmp_path / "d")
  stats = datasets.load_stats(path=path, lang="DSGS")
  assert stats.std > 0
