"""train_and_evaluate end to end on the smoke MLSF config (tiny SynthSign).

One uninterrupted reference run (30 steps, every loss logged) is compared
with interrupted ones: resumed in-process, killed with SIGKILL, preempted
with SIGTERM. Equality is bitwise: the same compiled step on the same data.
"""

import json
import math
import pathlib
import signal
import subprocess
import time

import jax
import numpy as np
import pytest

from signllm_jax import checkpoint
from signllm_jax import metrics_writer
from signllm_jax import state as state_lib
from signllm_jax import train
from signllm_jax.data import pipeline
from tests import testing

N = 30
# The reference's checkpoints (10, 20, 30) differ from the interrupted runs':
# when a run saves must not change what it computes.
REF = ("train.log_every=1", "train.ckpt_every=10", "train.eval_every=15",
       "train.eval_batches=2")


def _run(workdir, *overrides, spec=testing.MLSF_SMOKE):
  cfg = testing.smoke_config(*REF, *overrides, spec=spec)
  return train.train_and_evaluate(cfg, workdir)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("reference")
  final = _run(workdir, f"train.steps={N}")
  return workdir, testing.losses_by_step(workdir), final


def _final_state(workdir, *overrides):
  """The last checkpoint's model + optimizer state (host arrays)."""
  cfg = testing.smoke_config(*overrides)
  target = testing.build_setup(cfg, init_state=False).state
  with checkpoint.make_manager(pathlib.Path(workdir) / "checkpoints",
                               async_save=False) as mngr:
    out = checkpoint.restore_latest(mngr, state_target=target)
  return out["step"], _host(out["state"])


def _host(tree):
  def to_np(x):
    if jax.numpy.issubdtype(x.dtype, jax.dtypes.prng_key):
      x = jax.random.key_data(x)
    return np.asarray(jax.device_get(x))
  return [to_np(x) for x in jax.tree.leaves(tree)]


def _assert_losses_equal(got: dict, want: dict, steps_):
  for s in steps_:
    assert got[s] == want[s], (s, got[s], want[s])


def test_metrics_tensorboard_and_config(reference):
  workdir, losses, final = reference
  records = [json.loads(l) for l in
             (workdir / "metrics.jsonl").read_text().splitlines()]
  train_recs = [r for r in records if "train/loss" in r]
  assert [r["step"] for r in train_recs] == list(range(1, N + 1))
  for r in train_recs:
    for key in ("train/loss", "train/grad_norm", "train/lr",
                "train/frames_per_s", "train/pose_loss",
                "train/nonfinite_total"):
      assert key in r and math.isfinite(r[key]), (key, r)
    assert r["train/lr"] == pytest.approx(1e-3)
    assert r["train/frames_per_s"] > 0 and r["train/nonfinite_total"] == 0
  dev = [r for r in records if "dev/loss" in r]
  assert [r["step"] for r in dev] == [15, 30]
  # Two batches, spread over the languages (see train._validate).
  assert all(math.isfinite(r["dev/loss"]) and r["dev/examples"] > 8
             for r in dev)
  assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))
  assert json.loads((workdir / "config.json").read_text())["train"][
      "steps"] == N
  assert final["step"] == N and final["loss"] == losses[N]
  assert testing.checkpoint_steps(workdir) == [10, 20, 30]


def test_short_training_lowers_the_loss(tmp_path):
  # One language: its group gets every step (with all eight, each group
  # sees ~4 of the 30 steps and the loss moves little).
  _run(tmp_path, "data.langs=ASL", f"train.steps={N}",
       "train.ckpt_every=1000", "train.eval_every=0")
  losses = testing.losses_by_step(tmp_path)
  start = np.mean([losses[s] for s in (1, 2, 3, 4, 5)])
  end = np.mean([losses[s] for s in range(N - 4, N + 1)])
  assert end < 0.8 * start, (start, end)


def test_resume_equals_uninterrupted(tmp_path, reference):
  ref_dir, ref_losses, _ = reference
  # Asynchronous saves (the default outside smoke runs) while the next steps
  # already run on donated buffers.
  overrides = ("train.ckpt_every=4", "train.async_checkpointing=true")
  first = _run(tmp_path, "train.steps=12", *overrides)
  assert first["step"] == 12
  assert testing.checkpoint_steps(tmp_path) == [4, 8, 12]
  # A new call on the same workdir: restores model, optimizer and the data
  # iterator's position at step 12.
  second = _run(tmp_path, f"train.steps={N}", *overrides)
  assert second["step"] == N
  losses = testing.losses_by_step(tmp_path)
  _assert_losses_equal(losses, ref_losses, range(1, N + 1))
  ref_step, ref_state = _final_state(ref_dir)
  step, state = _final_state(tmp_path)
  assert step == ref_step == N
  for a, b in zip(state, ref_state):
    np.testing.assert_array_equal(a, b)


def _wait_for(predicate, proc, timeout_s, what):
  deadline = time.monotonic() + timeout_s
  while not predicate():
    if proc.poll() is not None:
      pytest.fail(f"training exited early (rc {proc.returncode}) waiting for "
                  f"{what}")
    if time.monotonic() > deadline:
      proc.kill()
      pytest.fail(f"timed out waiting for {what}")
    time.sleep(0.02)


@pytest.fixture
def start_cli():
  """testing.start_cli, killing what a failed test leaves running."""
  procs = []
  def start(*args, **kwargs):
    procs.append(testing.start_cli(*args, **kwargs))
    return procs[-1]
  yield start
  for proc in procs:
    if proc.poll() is None:
      proc.kill()
      proc.communicate()


def test_sigkill_then_restart_continues_the_same_curve(tmp_path, reference,
                                                       start_cli):
  _, ref_losses, _ = reference
  workdir = tmp_path / "run"
  proc = start_cli(workdir, "train.steps=200", "train.ckpt_every=2",
                   "train.log_every=1")
  _wait_for(lambda: testing.checkpoint_steps(workdir), proc, 120,
            "a first checkpoint")
  proc.send_signal(signal.SIGKILL)
  proc.communicate(timeout=30)
  assert proc.returncode == -signal.SIGKILL
  resumed_from = max(testing.checkpoint_steps(workdir))
  assert resumed_from < N, "the kill came too late to test the resume"
  # Restart with the final step count, as a new process.
  out, _ = subprocess.Popen(
      testing.cli_command(workdir, f"train.steps={N}",
                          "train.ckpt_every=1000", "train.log_every=1"),
      cwd=testing.REPO_ROOT, env=testing.cli_env(),
      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).communicate(
          timeout=300)
  assert testing.final_json(out)["step"] == N
  losses = testing.losses_by_step(workdir)
  # The killed process's steps and the restarted one's: one curve.
  _assert_losses_equal(losses, ref_losses, range(1, N + 1))


def test_sigterm_checkpoints_exits_cleanly_and_resumes(tmp_path, reference,
                                                       start_cli):
  _, ref_losses, _ = reference
  workdir = tmp_path / "run"
  proc = start_cli(workdir, "train.steps=2000", "train.ckpt_every=500",
                   "train.log_every=1")
  metrics = workdir / "metrics.jsonl"
  _wait_for(lambda: metrics.exists() and metrics.read_text().strip(), proc,
            120, "the first logged step")
  proc.send_signal(signal.SIGTERM)
  # The timeout catches a hang, not slowness: the process finishes its
  # step and one checkpoint, which takes seconds on a quiet machine.
  out, _ = proc.communicate(timeout=240)
  assert proc.returncode == 0
  final = testing.final_json(out)
  stopped = final["preempted_at"]
  assert final["step"] == stopped and 1 <= stopped < N
  assert testing.checkpoint_steps(workdir) == [stopped]
  assert max(testing.losses_by_step(workdir)) == stopped
  # The restart continues from the checkpoint, on the reference's curve.
  resumed = _run(workdir, f"train.steps={N}", "train.ckpt_every=500",
                 "train.eval_every=0")
  assert resumed["step"] == N
  losses = testing.losses_by_step(workdir)
  _assert_losses_equal(losses, ref_losses, range(1, N + 1))


class _PoisonedIterator:
  """Replaces the pose of the batches at the given (1-based) steps by NaN."""

  def __init__(self, it, bad_steps):
    self._it = it
    self._bad = set(bad_steps)
    self._n = 0

  def __next__(self):
    batch = next(self._it)
    self._n += 1
    if self._n in self._bad:
      batch = dict(batch)
      batch["pose"] = batch["pose"] * np.nan
    return batch

  def __getattr__(self, name):
    return getattr(self._it, name)


def test_nonfinite_losses_are_skipped_then_stop_the_run(tmp_path,
                                                        monkeypatch):
  make = pipeline.make_train_iterator
  monkeypatch.setattr(
      pipeline, "make_train_iterator",
      lambda *a, **kw: _PoisonedIterator(make(*a, **kw), {3, 5, 6, 7}))
  with pytest.raises(train.TrainingError,
                     match=r"at step 7: 3 consecutive") as e:
    _run(tmp_path, "train.steps=20", "train.max_consecutive_nonfinite=3",
         "train.eval_every=0")
  assert "max_consecutive_nonfinite=3" in str(e.value)
  records = {}
  for line in (tmp_path / "metrics.jsonl").read_text().splitlines():
    r = json.loads(line)
    records[r["step"]] = r
  assert records[3]["train/nonfinite"] == 1
  assert math.isnan(records[3]["train/loss"])
  assert records[4]["train/nonfinite"] == 0
  assert math.isfinite(records[4]["train/loss"])
  assert records[4]["train/nonfinite_total"] == 1
  assert records[6]["train/nonfinite_total"] == 3


def test_rl_plc_resume_restores_the_replay(tmp_path):
  # Batch 16 with half of it replayed, one language (replays are drawn from
  # the batch's language): the replay changes the losses after the resume.
  plc = ("rl.mode=rl_plc", "data.batch_size=16", "rl.replay_fraction=0.5",
         "rl.replay_mix=append", "data.langs=ASL",
         "train.ckpt_every=3", "train.eval_every=0")
  whole = tmp_path / "whole"
  _run(whole, *plc, "train.steps=6")
  parts = tmp_path / "parts"
  _run(parts, *plc, "train.steps=3")
  _run(parts, *plc, "train.steps=6")
  want, got = testing.losses_by_step(whole), testing.losses_by_step(parts)
  _assert_losses_equal(got, want, range(1, 7))
  records = [json.loads(l) for l in
             (parts / "metrics.jsonl").read_text().splitlines()]
  assert any(r.get("train/rl/replayed", 0) > 0 for r in records
             if r["step"] > 3), "no replay after the resume: a weak test"
  # The final replay (and model) states are identical.
  cfg = testing.smoke_config(*plc)
  setup = testing.build_setup(cfg, init_state=False)
  target = state_lib.abstract_rl_state(setup.sdef, next(
      pipeline.make_train_iterator(cfg.data, mesh=setup.mesh)))
  restored = []
  for workdir in (whole, parts):
    with checkpoint.make_manager(workdir / "checkpoints",
                                 async_save=False) as mngr:
      restored.append(checkpoint.restore_latest(
          mngr, state_target=setup.state, replay_target=target))
  assert restored[0]["step"] == restored[1]["step"] == 6
  assert int(np.asarray(restored[1]["replay_state"].replay.size).sum()) > 0
  for a, b in zip(_host(restored[0]["replay_state"]),
                  _host(restored[1]["replay_state"])):
    np.testing.assert_array_equal(a, b)
  for a, b in zip(_host(restored[0]["state"]), _host(restored[1]["state"])):
    np.testing.assert_array_equal(a, b)


def test_rl_plc_replace_mix_and_generated_dev_metric(tmp_path):
  # replay_mix=replace: the pipeline serves 8 fresh rows and 8 are replayed,
  # so a step runs on data.batch_size=16 rows as in mode mse.
  plc = ("rl.mode=rl_plc", "data.batch_size=16", "rl.replay_fraction=0.5",
         "rl.replay_mix=replace", "data.langs=ASL", "train.eval_every=0",
         "train.gen_eval_every=2", "train.gen_eval_per_lang=4",
         "generate.max_frames=32")
  cfg = testing.smoke_config(*plc)
  setup = testing.build_setup(cfg, init_state=False)
  assert train._train_data_config(cfg, setup.sdef).batch_size == 8
  assert cfg.data.batch_size == 16  # the config itself is left alone
  _run(tmp_path, *plc, "train.steps=4")
  records = [json.loads(l) for l in
             (tmp_path / "metrics.jsonl").read_text().splitlines()]
  gen = [r for r in records if "dev/gen_dtw_mje" in r]
  assert [r["step"] for r in gen] == [2, 4]
  for r in gen:
    assert math.isfinite(r["dev/gen_dtw_mje"]) and r["dev/gen_dtw_mje"] > 0
    assert r["dev/gen_dtw_mje/ASL"] == r["dev/gen_dtw_mje"]  # one language
  assert any(r.get("train/rl/replayed", 0) == 8 for r in records)


def test_rl_plc_that_would_replay_nothing_is_an_error(tmp_path):
  with pytest.raises(train.TrainingError, match="replays nothing"):
    _run(tmp_path, "rl.mode=rl_plc", "data.batch_size=8",
         "rl.replay_fraction=0.05", "train.steps=2")


@pytest.mark.parametrize("optimizer", [
    "optim.schedule=constant", "optim.schedule=cosine",
    "optim.schedule=plateau", "optim.name=adamw"])
def test_setup_builds_with_every_optimizer_setting(optimizer):
  # Abstractly: the graph definition alone once failed for plateau (its
  # init cannot take abstract parameters).
  setup = testing.build_setup(testing.smoke_config(optimizer),
                              init_state=False)
  leaves = jax.tree.leaves(setup.state)
  assert all(isinstance(x, jax.ShapeDtypeStruct) and x.sharding is not None
             for x in leaves)
  assert len(leaves) == len(jax.tree.leaves(setup.state_shardings))


def test_metrics_writer_ends_a_line_cut_by_a_kill(tmp_path, caplog):
  (tmp_path / "metrics.jsonl").write_text(
      '{"step": 1, "train/loss": 2.0}\n{"step": 2, "train/lo')
  writer = metrics_writer.MetricsWriter(tmp_path)
  writer.write_scalars(2, {"train/loss": 1.5})
  writer.close()
  records = metrics_writer.read_jsonl(tmp_path / "metrics.jsonl")
  assert [(r["step"], r["train/loss"]) for r in records] == [(1, 2.0),
                                                             (2, 1.5)]
  assert "metrics.jsonl:2: skipping an unreadable metrics line" in caplog.text
