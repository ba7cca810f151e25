"""generate.writers: a path with a known extension is that one file."""

import numpy as np
import pytest

from signllm_jax.data import pose_io
from signllm_jax.data import skels
from signllm_jax.generate import pipeline as gen
from signllm_jax.generate import writers


def _result(i: int, t: int = 6) -> gen.Generated:
  rng = np.random.default_rng(i)
  return gen.Generated(id=f"g{i}", source=f"sentence {i}", lang="ASL",
                       pose_TxJx3=rng.normal(size=(t, 50, 3)).astype(
                           np.float32),
                       counter_T=np.linspace(0.1, 1.0, t, dtype=np.float32),
                       timing="predicted")


def test_a_pose_path_writes_that_one_file(tmp_path):
  out = tmp_path / "a.pose"
  written = writers.write_outputs([_result(0)], out, formats=("skels",))
  assert written == [out] and out.is_file()
  pose, fps = pose_io.read_internal_pose(out)
  np.testing.assert_allclose(pose, _result(0).pose_TxJx3, atol=1e-5)
  assert fps == writers.FPS


def test_skels_and_npz_paths_hold_every_sequence(tmp_path):
  results = [_result(0), _result(1, t=4)]
  written = writers.write_outputs(results, tmp_path / "b.skels",
                                  formats=("pose",))
  assert tmp_path / "b.skels" in written
  recs = skels.read_split(tmp_path, "b").records
  assert [r.id for r in recs] == ["g0", "g1"]
  assert [len(r.pose) for r in recs] == [6, 4]
  writers.write_outputs(results, tmp_path / "c.npz", formats=("pose",))
  with np.load(tmp_path / "c.npz") as z:
    np.testing.assert_array_equal(z["lengths"], [6, 4])


def test_one_file_cannot_hold_several_poses(tmp_path):
  with pytest.raises(ValueError, match="one .pose file holds one sequence"):
    writers.write_outputs([_result(0), _result(1)], tmp_path / "a.pose",
                          formats=("pose",))


def test_a_plain_path_is_a_folder_of_every_format(tmp_path):
  written = writers.write_outputs([_result(0)], tmp_path / "out",
                                  formats=("skels", "npz", "pose"))
  names = sorted(p.name for p in written)
  assert "g0.pose" in names and "generated.npz" in names
  assert "generated.skels" in names
  assert (tmp_path / "out").is_dir()
