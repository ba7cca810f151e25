"""Checkpoint save/restore: nnx state, data state, RL replay, broken steps."""

import logging
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from signllm_jax import checkpoint
from signllm_jax import rl
from tests import testing


@pytest.fixture(scope="module")
def setup():
  return testing.build_setup(testing.smoke_config("rl.mode=rl_plc"))


@pytest.fixture(scope="module")
def replay(setup):
  """An rl_plc state of the trainer's shapes, filled with distinct values."""
  cfg = setup.cfg
  spec = {
      "pose": jax.ShapeDtypeStruct((8, cfg.data.max_frames, 151),
                                   jnp.float32),
      "pose_mask": jax.ShapeDtypeStruct((8, cfg.data.max_frames), bool),
      "lang": jax.ShapeDtypeStruct((8,), jnp.int32),
      "idx": jax.ShapeDtypeStruct((8,), jnp.int32),
  }
  state = rl.init_state(cfg.rl, example_batch=spec, mesh=setup.mesh)
  rng = np.random.default_rng(0)

  def fill(x):
    if x.dtype == bool:
      value = rng.random(x.shape) < 0.5
    else:
      value = rng.integers(0, 100, x.shape).astype(x.dtype)
    return jax.device_put(value, x.sharding)
  return jax.tree.map(fill, state)


def _shift(state, delta):
  """A state that differs from `state` in every float leaf."""
  return jax.tree.map(
      lambda x: x + delta if jnp.issubdtype(x.dtype, jnp.floating) else x,
      state)


def _save(ckpt_dir, step, state, replay=None, data=None):
  with checkpoint.make_manager(ckpt_dir, async_save=False) as mngr:
    checkpoint.save(mngr, step, state=state, data_state=data or {"s": step},
                    replay_state=replay, meta={"nonfinite_total": step})


def _restore(ckpt_dir, setup, replay_target=None):
  target = setup.sdef.abstract
  with checkpoint.make_manager(ckpt_dir, async_save=False) as mngr:
    return checkpoint.restore_latest(mngr, state_target=target,
                                     replay_target=replay_target)


def _assert_same(a, b):
  la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(la, lb):
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
      x, y = jax.random.key_data(x), jax.random.key_data(y)
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_roundtrip_restores_state_data_replay_exactly(tmp_path, setup,
                                                      replay):
  state = _shift(setup.state, 0.25)
  _save(tmp_path / "ckpt", 7, state, replay, data={"next_index": 56})
  out = _restore(tmp_path / "ckpt", setup, replay_target=replay)
  assert out["step"] == 7 and out["skipped_steps"] == []
  assert out["data_state"] == {"next_index": 56}
  assert out["meta"]["nonfinite_total"] == 7
  _assert_same(out["state"], state)
  # Restored onto the trainer's shardings, not onto one device.
  for got, want in zip(jax.tree.leaves(out["state"]),
                       jax.tree.leaves(setup.state_shardings)):
    assert got.sharding.is_equivalent_to(want, got.ndim)
  assert isinstance(out["replay_state"], rl.RLTrainState)
  _assert_same(out["replay_state"], replay)
  for got, want in zip(jax.tree.leaves(out["replay_state"]),
                       jax.tree.leaves(replay)):
    assert got.sharding.is_equivalent_to(want.sharding, got.ndim)


def test_empty_directory_restores_nothing(tmp_path, setup):
  assert _restore(tmp_path / "ckpt", setup) is None


def _corrupt(step_dir: pathlib.Path, how: str) -> None:
  if how == "truncated_array_file":
    files = [p for p in (step_dir / "params").rglob("*")
             if p.is_file() and "ocdbt.process" in str(p) and "/d/" in str(p)]
    assert files, "no array data files to truncate"
    for p in files:
      p.write_bytes(p.read_bytes()[:10])
  elif how == "deleted_item_metadata":
    (step_dir / "params" / "_METADATA").unlink()
  elif how == "deleted_data_item":
    for p in sorted((step_dir / "data").rglob("*"), reverse=True):
      p.unlink() if p.is_file() else p.rmdir()
    (step_dir / "data").rmdir()
  else:
    raise ValueError(how)


@pytest.mark.parametrize("how", ["truncated_array_file",
                                 "deleted_item_metadata", "deleted_data_item"])
def test_broken_latest_warns_and_falls_back(tmp_path, setup, caplog, how):
  ckpt = tmp_path / "ckpt"
  _save(ckpt, 2, setup.state)
  _save(ckpt, 4, _shift(setup.state, 1.0))
  _corrupt(ckpt / "4", how)
  with caplog.at_level(logging.WARNING, logger="signllm_jax.checkpoint"):
    out = _restore(ckpt, setup)
  assert out["step"] == 2 and out["skipped_steps"] == [4]
  assert out["data_state"] == {"s": 2}
  _assert_same(out["state"], setup.state)
  assert any("checkpoint step 4" in r.getMessage() and "unreadable" in
             r.getMessage() for r in caplog.records), caplog.text
  # Moved aside (kept for a post-mortem), so the resumed run can save 4.
  assert not (ckpt / "4").exists()
  assert len(list((tmp_path / "ckpt_broken").iterdir())) == 1
  _save(ckpt, 4, setup.state)
  assert _restore(ckpt, setup)["step"] == 4


def test_leftover_tmp_folder_of_an_interrupted_save_is_ignored(tmp_path,
                                                               setup):
  ckpt = tmp_path / "ckpt"
  _save(ckpt, 3, setup.state)
  # What a save killed before its rename leaves behind.
  tmp = ckpt / "6.orbax-checkpoint-tmp-1234567"
  (tmp / "state").mkdir(parents=True)
  (tmp / "state" / "junk").write_bytes(b"\0" * 10)
  out = _restore(ckpt, setup)
  assert out["step"] == 3 and out["skipped_steps"] == []
  assert not tmp.exists()


def test_every_step_broken_raises(tmp_path, setup):
  ckpt = tmp_path / "ckpt"
  _save(ckpt, 1, setup.state)
  _corrupt(ckpt / "1", "deleted_item_metadata")
  with pytest.raises(checkpoint.NoCheckpointError, match="steps \\[1\\]"):
    _restore(ckpt, setup)


def test_layout_mismatch_is_a_clear_error_not_a_broken_step(tmp_path, setup,
                                                            caplog):
  # A readable checkpoint of another layout (here: one array reshaped, as an
  # MLSF checkpoint with a scalar Adam count): one error naming the array,
  # no fallback to older steps, nothing moved aside.
  ckpt = tmp_path / "ckpt"
  _save(ckpt, 2, setup.state)
  pure = nnx.to_pure_dict(setup.state)
  leaf = pure[0]["groups"]["decoder"]["final_ln"]["scale"]
  pure[0]["groups"]["decoder"]["final_ln"]["scale"] = leaf[:, :-1]
  _save(ckpt, 4, pure)
  with caplog.at_level(logging.WARNING, logger="signllm_jax.checkpoint"):
    with pytest.raises(checkpoint.CheckpointMismatchError) as err:
      _restore(ckpt, setup)
  n, d = leaf.shape
  assert "(1 array differs: " in str(err.value), err.value
  assert (f"params/groups/decoder/final_ln/scale: stored ({n}, {d - 1}), "
          f"expected ({n}, {d})") in str(err.value)
  assert "step 4" in str(err.value)
  assert not caplog.records, caplog.text
  assert (ckpt / "4").exists() and not (tmp_path / "ckpt_broken").exists()


def test_params_restore_alone_without_an_optimizer(tmp_path, setup):
  ckpt = tmp_path / "ckpt"
  _save(ckpt, 3, _shift(setup.state, 0.5))
  params_target = setup.sdef.abstract[0]
  step, params = checkpoint.restore_params(ckpt, params_target)
  assert step == 3
  _assert_same(params, _shift(setup.state, 0.5)[0])
  # The optimizer's item is not needed: a checkpoint without it restores.
  for p in sorted((ckpt / "3" / "opt_state").rglob("*"), reverse=True):
    p.unlink() if p.is_file() else p.rmdir()
  (ckpt / "3" / "opt_state").rmdir()
  _assert_same(checkpoint.restore_params(ckpt, params_target)[1],
               _shift(setup.state, 0.5)[0])


def test_params_restore_of_another_model_is_one_clear_error(tmp_path, setup):
  ckpt = tmp_path / "ckpt"
  pure = nnx.to_pure_dict(setup.state)
  del pure[0]["groups"]["decoder"]["final_ln"]
  _save(ckpt, 1, pure)
  with pytest.raises(checkpoint.CheckpointMismatchError,
                     match="params/groups/decoder/final_ln/scale: not in the "
                     "checkpoint"):
    checkpoint.restore_params(ckpt, setup.sdef.abstract[0])
  with pytest.raises(checkpoint.NoCheckpointError, match="no checkpoint"):
    checkpoint.restore_params(tmp_path / "empty", setup.sdef.abstract[0])


def _save_old_layout(ckpt_dir, step, state):
  """The layout before the params/opt_state split: one fused `state`."""
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  options = ocp.CheckpointManagerOptions(create=True,
                                         enable_async_checkpointing=False)
  with ocp.CheckpointManager(ckpt_dir.absolute(), options=options,
                             item_names=("state", "data", "meta")) as mngr:
    mngr.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(nnx.to_pure_dict(state)),
        data=ocp.args.JsonSave({"s": step}),
        meta=ocp.args.JsonSave({"step": step})))


def test_old_layout_is_a_clear_error_and_migrates(tmp_path, setup):
  ckpt = tmp_path / "ckpt"
  want = _shift(setup.state, 0.25)
  _save_old_layout(ckpt, 5, want)
  with pytest.raises(checkpoint.OldFormatError,
                     match="signllm checkpoint migrate"):
    _restore(ckpt, setup)
  with pytest.raises(checkpoint.OldFormatError):
    checkpoint.restore_params(ckpt, setup.sdef.abstract[0])
  assert checkpoint.migrate(ckpt) == [5]
  assert not (ckpt / "5" / "state").exists()
  out = _restore(ckpt, setup)
  assert out["step"] == 5 and out["data_state"] == {"s": 5}
  _assert_same(out["state"], want)
  assert checkpoint.migrate(ckpt) == []  # already migrated: left alone
