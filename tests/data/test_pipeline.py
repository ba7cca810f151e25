"""Tests of the grain pipeline on synth_sign/tiny (8 simulated devices)."""

import jax
import numpy as np
import pytest

from signllm_jax import languages
from signllm_jax.data import datasets
from signllm_jax.data import pipeline
from tests.data import test_synth_sign_builder

_AUTO = jax.sharding.AxisType.Auto


@pytest.fixture(scope="module")
def tiny_dir():
  return test_synth_sign_builder.build_tiny()


@pytest.fixture(scope="module")
def index(tiny_dir):
  tok = datasets.load_tokenizer(path=tiny_dir)
  return {s: datasets.load_index(tiny_dir, s, tok) for s in ("train", "dev")}


@pytest.fixture(scope="module")
def mesh():
  return jax.make_mesh((4, 2), ("data", "fsdp"), axis_types=(_AUTO,) * 2)


def _cfg(tiny_dir, index, **kw):
  cfg = pipeline.default_data_config()
  cfg.data_dir = str(tiny_dir.parents[2])
  cfg.batch_size = 8
  # Two buckets that split the tiny data, and a max below its longest clip
  # so that the too-long handling is exercised.
  frames = np.unique(index["train"]["num_frames"])
  assert len(frames) >= 3, "tiny needs varied clip lengths for these tests"
  cfg.max_frames = int(frames[-2])
  cfg.frame_buckets = (int(frames[(len(frames) - 2) // 2]), cfg.max_frames)
  cfg.read_threads = 2
  cfg.prefetch = 2
  cfg.update(kw)
  return cfg


def _np(batch):
  return {k: np.asarray(v) for k, v in batch.items()}


def test_default_config_fields():
  cfg = pipeline.default_data_config()
  assert cfg.name == "synth_sign" and cfg.data_dir is None
  assert cfg.frame_buckets[-1] == cfg.max_frames


def test_train_batches_shapes_masks_and_languages(tiny_dir, index, mesh):
  cfg = _cfg(tiny_dir, index)
  it = pipeline.make_train_iterator(cfg, mesh=mesh)
  assert it.report["too_long"] >= 1 and it.report["too_long_action"] == (
      "filter")
  tok = datasets.load_tokenizer(path=tiny_dir)
  langs_seen = set()
  for _ in range(12):
    b = next(it)
    assert b["pose"].sharding.spec == jax.sharding.PartitionSpec(
        ("data", "fsdp"))
    assert len(b["pose"].addressable_shards) == 8
    b = _np(b)
    t = b["pose"].shape[1]
    assert t in cfg.frame_buckets
    assert b["pose"].shape == (8, t, 151) and b["pose"].dtype == np.float32
    assert b["text"].shape == (8, cfg.max_text_len)
    assert b["prompt"].shape == (8, cfg.max_prompt_len)
    assert b["lang_gloss"].shape == (8, cfg.max_gloss_len)
    for k in ("text", "prompt", "lang_gloss"):
      assert b[k].dtype == np.int32
      np.testing.assert_array_equal(b[f"{k}_mask"], b[k] != 0)
    np.testing.assert_array_equal(b["pose_mask"].sum(1), b["length"])
    assert (b["length"] > 0).all() and (b["length"] <= t).all()
    assert b["example_mask"].all()
    # Padding is zero; the counter of the last valid frame is 1.
    assert not b["pose"][~b["pose_mask"]].any()
    last = b["pose"][np.arange(8), b["length"] - 1, 150]
    np.testing.assert_allclose(last, 1.0)
    assert len(set(b["lang"].tolist())) == 1  # language homogeneous
    langs_seen.add(int(b["lang"][0]))
    np.testing.assert_array_equal(
        index["train"]["lang"][b["idx"]], b["lang"])
    np.testing.assert_array_equal(
        index["train"]["num_frames"][b["idx"]], b["length"])
    assert (b["lang_gloss"][:, 0] == tok.bos_id).all()
    tag = tok.lang_tag_id(languages.LANG_CODES[b["lang"][0]])
    assert (b["lang_gloss"] == tag).any(axis=1).all()
    ends = b["text_mask"].sum(1) - 1
    assert (b["text"][np.arange(8), ends] == tok.eos_id).all()
  assert len(langs_seen) > 1


def test_frames_invert_to_stored_pose(tiny_dir, index, mesh):
  cfg = _cfg(tiny_dir, index)
  b = _np(next(pipeline.make_train_iterator(cfg, mesh=mesh)))
  stats = datasets.load_stats(path=tiny_dir)
  src = datasets.data_source(tiny_dir, "train")
  i, n = int(b["idx"][0]), int(b["length"][0])
  pose = src[i]["pose"]
  back = pipeline.normalize.from_frames(b["pose"][0, :n], stats)
  ok = ~np.isnan(pose)
  np.testing.assert_allclose(back[ok], pose[ok], atol=1e-4)


def test_mixed_batches_and_truncation(tiny_dir, index, mesh):
  cfg = _cfg(tiny_dir, index, language_homogeneous=False,
             too_long="truncate", lang_weights="uniform")
  it = pipeline.make_train_iterator(cfg, mesh=mesh)
  assert it.report["too_long_action"] == "truncate"
  assert it.report["examples"] == len(index["train"]["lang"])
  mixed = False
  for _ in range(6):
    b = _np(next(it))
    mixed |= len(set(b["lang"].tolist())) > 1
    assert (b["length"] <= cfg.max_frames).all()
  assert mixed


def test_resumed_iterator_continues_exactly(tiny_dir, index, mesh):
  cfg = _cfg(tiny_dir, index)
  it = pipeline.make_train_iterator(cfg, mesh=mesh, seed=3)
  for _ in range(5):
    next(it)
  state = it.get_state()
  expected = [_np(next(it)) for _ in range(4)]
  resumed = pipeline.make_train_iterator(cfg, mesh=mesh, seed=3)
  resumed.set_state(state)
  for want in expected:
    got = _np(next(resumed))
    for k in want:
      np.testing.assert_array_equal(got[k], want[k], err_msg=k)
  other = pipeline.make_train_iterator(cfg, mesh=mesh, seed=4)
  firsts = [_np(next(other))["idx"] for _ in range(9)]
  assert any(not np.array_equal(a["idx"], b) for a, b in
             zip(expected, firsts[5:]))


def test_hosts_share_the_schedule_and_split_rows(tiny_dir, index):
  # Two simulated hosts on one process, 4 devices each: the same language
  # and frame bucket at every step, different rows.
  cfg = _cfg(tiny_dir, index)
  devs = np.array(jax.devices()[:4])
  mesh4 = jax.sharding.Mesh(devs, ("data",), axis_types=(_AUTO,))
  hosts = [pipeline.make_train_iterator(cfg, mesh=mesh4, process_index=p,
                                        process_count=2) for p in (0, 1)]
  for _ in range(6):
    b0, b1 = (_np(next(h)) for h in hosts)
    assert b0["pose"].shape == b1["pose"].shape and b0["idx"].shape == (4,)
    assert len(set(b0["lang"].tolist() + b1["lang"].tolist())) == 1


@pytest.mark.parametrize("homogeneous", [True, False])
def test_eval_covers_every_example_once(tiny_dir, index, mesh, homogeneous):
  cfg = _cfg(tiny_dir, index, language_homogeneous=homogeneous)
  ev = pipeline.make_eval_batches(cfg, mesh=mesh)
  seen = []
  for b in ev:
    b = _np(b)
    assert b["pose"].shape[0] == 8
    if homogeneous:
      assert len(set(b["lang"].tolist())) == 1
    m = b["example_mask"]
    assert not b["pose_mask"][~m].any() and (b["idx"][~m] == -1).all()
    np.testing.assert_array_equal(b["pose_mask"].sum(1), b["length"])
    np.testing.assert_array_equal(
        index["dev"]["num_frames"][b["idx"][m]], b["length"][m])
    seen += b["idx"][m].tolist()
  assert sorted(seen) == list(range(len(index["dev"]["lang"])))
  assert len(ev) == ev.report["batches"]
  # Deterministic: a second pass gives the same batches.
  first = _np(next(iter(ev)))
  np.testing.assert_array_equal(first["idx"], _np(next(iter(ev)))["idx"])


def test_eval_rows_split_across_hosts(tiny_dir, index):
  cfg = _cfg(tiny_dir, index)
  devs = np.array(jax.devices()[:4])
  mesh4 = jax.sharding.Mesh(devs, ("data",), axis_types=(_AUTO,))
  seen = []
  for p in (0, 1):
    for b in pipeline.make_eval_batches(cfg, mesh=mesh4, process_index=p,
                                        process_count=2):
      b = _np(b)
      seen += b["idx"][b["example_mask"]].tolist()
  assert sorted(seen) == list(range(len(index["dev"]["lang"])))


def test_bad_configs(tiny_dir, index, mesh):
  with pytest.raises(ValueError, match="divisible"):
    pipeline.make_train_iterator(_cfg(tiny_dir, index, batch_size=6),
                                 mesh=mesh)
  with pytest.raises(ValueError, match="max_frames"):
    pipeline.make_train_iterator(
        _cfg(tiny_dir, index, frame_buckets=(8, 16), max_frames=32),
        mesh=mesh)
  with pytest.raises(ValueError, match="too_long"):
    pipeline.make_train_iterator(_cfg(tiny_dir, index, too_long="drop"),
                                 mesh=mesh)


@pytest.mark.real_data
def test_prompt2sign_sample_through_the_pipeline(sample_data_dir, tmp_path,
                                                 mesh):
  # A dataset without synth_sign's side files: the tokenizer, statistics
  # and index are computed on first use and cached beside it.
  path = datasets.build_dataset(
      "prompt2sign", "gsl_v1", data_dir=tmp_path,
      manual_dir=sample_data_dir / "phoenix14t_pt", progress=False)
  cfg = pipeline.default_data_config()
  cfg.update(name="prompt2sign", config="gsl_v1", data_dir=str(tmp_path),
             max_frames=512, frame_buckets=(512,))
  b = _np(next(pipeline.make_train_iterator(cfg, mesh=mesh)))
  assert (b["lang"] == languages.lang_index("GSL")).all()
  np.testing.assert_array_equal(b["pose_mask"].sum(1), b["length"])
  for f in ("tokenizer.model", "pose_stats.json", "train_index.npz"):
    assert (path / f).exists(), f
  ev = pipeline.make_eval_batches(cfg, mesh=mesh)
  seen = [i for x in ev for i in np.asarray(x["idx"]).tolist() if i >= 0]
  assert sorted(seen) == list(range(len(datasets.data_source(path, "dev"))))
