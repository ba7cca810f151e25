"""train_and_evaluate(cfg, workdir): the one training loop.

Order (big_vision): data assets (copied into the workdir) -> mesh -> the
abstract state (state.py) -> data -> restore, or init -> compile steps
(state.py) -> loop. Only this module and
the CLI touch files, logs and clocks.

Guarantees (tests/test_train.py): a resumed run continues exactly as the
uninterrupted one would have (model, optimizer, data-iterator and replay state
are checkpointed together); SIGTERM checkpoints the finished step and returns
normally; a non-finite loss skips its update and too many in a row stop the
run with `TrainingError`.
"""

import contextlib
import logging
import pathlib
import signal
import time

import jax
import ml_collections
import numpy as np
from flax import nnx
from jax.experimental import multihost_utils

from signllm_jax import checkpoint
from signllm_jax import config as config_lib
from signllm_jax import gloss_source
from signllm_jax import metrics_writer
from signllm_jax import optim
from signllm_jax import rl
from signllm_jax import sharding
from signllm_jax import state as state_lib
from signllm_jax import tokenizer_source
from signllm_jax import workdir as workdir_lib
from signllm_jax.data import datasets
from signllm_jax.data import pipeline
from signllm_jax.evaluate import dev_generation
from signllm_jax.generate import pose_decode

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
  pass


class _Preemption:
  """SIGTERM -> checkpoint the finished step and stop (preemption).

  Installed before anything slow so that a signal during set-up is honoured
  too. With several processes the flag is OR-ed across them: every process
  must take part in the same final save.
  """

  def __init__(self):
    self._flag = False
    self._old = None

  def __enter__(self):
    def handler(signum, frame):
      del frame
      log.warning("signal %d received: checkpointing and stopping", signum)
      self._flag = True
    try:
      self._old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: preemption is not handled
      self._old = None
    return self

  def __exit__(self, *exc):
    if self._old is not None:
      signal.signal(signal.SIGTERM, self._old)

  def requested(self) -> bool:
    if jax.process_count() == 1:
      return self._flag
    flags = multihost_utils.process_allgather(np.int32(self._flag))
    return bool(np.any(flags))


class _Meter:
  """Step metrics: fetched one step late (no host sync per step), logged,
  non-finite losses counted.

  frames_per_s (and step_time_s, wall seconds per step) count the wall time
  of training steps only:
  time spent in validation and checkpointing is excluded (`paused`). The
  first window of a run includes compilation.
  """

  def __init__(self, cfg, writer, bar, nonfinite_total: int):
    self.cfg = cfg
    self.writer = writer
    self.bar = bar
    self.lr_fn = optim.learning_rate_schedule(cfg.optim, cfg.train.steps)
    self.nonfinite_total = nonfinite_total
    self.consecutive_nonfinite = 0
    self.last = {}
    self._pending = None
    self._frames = 0
    self._steps = 0
    self._t0 = time.perf_counter()
    self._paused_s = 0.0

  def push(self, step: int, metrics) -> None:
    self.flush()
    self._pending = (step, metrics)

  @contextlib.contextmanager
  def paused(self):
    t = time.perf_counter()
    try:
      yield
    finally:
      self._paused_s += time.perf_counter() - t

  def flush(self) -> None:
    if self._pending is None:
      return
    step, m = self._pending
    self._pending = None
    m = jax.device_get(m)
    nonfinite = bool(m["nonfinite"])
    self.consecutive_nonfinite = self.consecutive_nonfinite + 1 if nonfinite \
        else 0
    self.nonfinite_total += int(nonfinite)
    self._frames += int(m["frames"])
    self._steps += 1
    limit = self.cfg.train.max_consecutive_nonfinite
    if self.consecutive_nonfinite >= limit:
      raise TrainingError(
          f"non-finite loss or gradient at step {step}: "
          f"{self.consecutive_nonfinite} consecutive steps (limit "
          f"train.max_consecutive_nonfinite={limit}), their updates were "
          "skipped; lower optim.lr or check the data")
    if nonfinite:
      log.warning("step %d: non-finite loss or gradient, update skipped "
                  "(%d in a row)", step, self.consecutive_nonfinite)
    if step % self.cfg.train.log_every and step != self.cfg.train.steps:
      return
    now = time.perf_counter()
    scalars = {k: float(np.asarray(v)) for k, v in m.items()
               if np.ndim(v) == 0}
    # Adam's update at `step` used the schedule at count step - 1, scaled by
    # reduce_on_plateau's factor with the plateau schedule.
    scalars["lr"] = float(self.lr_fn(step - 1)) * scalars.get("lr_scale", 1.0)
    busy_s = max(now - self._t0 - self._paused_s, 1e-9)
    scalars["frames_per_s"] = self._frames / busy_s
    scalars["step_time_s"] = busy_s / max(self._steps, 1)
    scalars["nonfinite_total"] = self.nonfinite_total
    self.writer.write_scalars(step, {f"train/{k}": v
                                     for k, v in scalars.items()})
    self.bar.set_postfix(loss=f"{scalars['loss']:.4f}",
                         fps=f"{scalars['frames_per_s']:.0f}")
    self._frames, self._steps, self._t0, self._paused_s = 0, 0, now, 0.0
    self.last = scalars


def _train_data_config(cfg, sdef: state_lib.StateDef):
  """cfg.data with the fresh rows per step (rl.replay_mix "replace" takes
  the replayed rows out of data.batch_size)."""
  if sdef.fresh_rows == cfg.data.batch_size:
    return cfg.data
  data_cfg = ml_collections.ConfigDict(cfg.data.to_dict())
  data_cfg.batch_size = sdef.fresh_rows
  return data_cfg


def _peek(train_iter) -> dict:
  """The next batch, leaving the iterator where it was."""
  before = train_iter.get_state()
  batch = next(train_iter)
  train_iter.set_state(before)
  return batch


def load_data_assets(cfg):
  """(dataset folder, tokenizer, pose statistics) of cfg.data: the same
  objects the train iterator and the dev batches use (read once)."""
  try:
    # The embedded corpus is built on first use (by a single process: two
    # would race on the same folder); a real dataset must exist.
    if jax.process_count() == 1:
      datasets.ensure_built(cfg.data.name, cfg.data.config,
                            cfg.data.data_dir or None,
                            progress=bool(cfg.train.progress))
    return pipeline.load_assets(cfg.data)
  except FileNotFoundError as e:
    raise TrainingError(str(e)) from None


def _write_config(cfg, workdir: pathlib.Path) -> None:
  path = workdir / "config.json"
  text = config_lib.to_json(cfg)
  if path.exists() and path.read_text() != text:
    # The newest config wins; the old one is kept for the record.
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path.rename(workdir / f"config.{stamp}.json")
  path.write_text(text)


def train_and_evaluate(cfg, workdir: str | pathlib.Path) -> dict:
  """Trains (or resumes) in `workdir`; returns the final metrics."""
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  with _Preemption() as preempt:
    return _train(cfg, workdir, preempt)


def _train(cfg, workdir: pathlib.Path, preempt: _Preemption) -> dict:
  try:
    rl.validate(cfg.rl)
  except ValueError as e:
    raise TrainingError(str(e)) from None
  if (cfg.model.mode in ("backtranslate", "pose_tokenizer")
      and cfg.train.gen_eval_every):
    raise TrainingError(f"train.gen_eval_every generates poses from text; "
                        f"a {cfg.model.mode} model does not: set it to 0")
  data_path, tokenizer, stats = load_data_assets(cfg)
  try:
    # Token decoder: the tokenizer's fields enter cfg before it is written.
    pose_tok = tokenizer_source.adopt(cfg)
    if pose_tok is not None:
      tokenizer_source.check_stats(pose_tok, stats)
    # Prompt2LangGloss apart: stage 2 adopts a trained stage 1.
    stage1 = gloss_source.adopt(cfg, tokenizer)
  except (tokenizer_source.TokenizerSourceError,
          gloss_source.GlossSourceError) as e:
    raise TrainingError(str(e)) from None
  if jax.process_index() == 0:
    _write_config(cfg, workdir)
    workdir_lib.write_assets(workdir, cfg, data_path, tokenizer, stats)
    if pose_tok is not None:
      tokenizer_source.record(workdir, pose_tok)
    if stage1 is not None:
      gloss_source.record(workdir, stage1)
  mesh = sharding.make_mesh(cfg.mesh)
  sdef = state_lib.define(cfg, vocab_size=tokenizer.vocab_size, mesh=mesh)
  try:
    fresh_cfg = _train_data_config(cfg, sdef)
  except ValueError as e:
    raise TrainingError(str(e)) from None

  # The data order follows data.shuffle_seed, independent of the init seed.
  train_iter = pipeline.make_train_iterator(fresh_cfg, mesh=mesh)
  # The replay (rl_plc) stores rows shaped as the pipeline's batches.
  example = _peek(train_iter) if cfg.rl.mode == "rl_plc" else None
  rl_abstract = state_lib.abstract_rl_state(sdef, example)
  keep_replay = rl.has_state(cfg.rl)

  with contextlib.ExitStack() as stack:
    mngr = checkpoint.make_manager(workdir / "checkpoints",
                                   max_to_keep=cfg.train.max_to_keep,
                                   async_save=cfg.train.async_checkpointing)
    # Unwound in reverse: pending async saves finish before the close (an
    # unfinished save hangs the interpreter's exit, STACK.md).
    stack.callback(mngr.close)
    stack.callback(mngr.wait_until_finished)
    start_step, nonfinite_total = 0, 0
    try:
      restored = checkpoint.restore_latest(
          mngr, state_target=sdef.abstract,
          replay_target=rl_abstract if keep_replay else None)
    except checkpoint.NoCheckpointError as e:
      raise TrainingError(f"{e}; move {mngr.directory} away to start "
                          "afresh") from None
    if restored is None:
      state = state_lib.init(sdef)
      if pose_tok is not None:
        state = state_lib.install_pose_tokenizer(state, pose_tok.model)
        log.info("pose tokenizer from %s (step %d)", pose_tok.workdir,
                 pose_tok.step)
      if stage1 is not None:
        state = state_lib.install_params(state, "gloss", stage1.model.gloss,
                                         "stage 1 (prompt -> LangGloss)")
        log.info("stage 1 from %s (step %d)", stage1.workdir, stage1.step)
      rl_state = state_lib.init_rl_state(sdef, example)
    else:
      state = restored["state"]
      rl_state = (restored["replay_state"] if keep_replay
                  else state_lib.init_rl_state(sdef, example))
      train_iter.set_state(restored["data_state"])
      start_step = restored["step"]
      nonfinite_total = int(restored["meta"].get("nonfinite_total", 0))
      log.info("resumed from step %d%s", start_step,
               f" (broken newer checkpoints {restored['skipped_steps']} "
               "were moved aside)" if restored["skipped_steps"] else "")
    train_step = state_lib.train_step(sdef, rl_abstract)
    eval_step = state_lib.eval_step(sdef)
    # Built once: each validation reads the same dev batches.
    eval_batches = (pipeline.make_eval_batches(cfg.data, mesh=mesh,
                                               split=cfg.data.eval_split)
                    if cfg.train.eval_every else None)
    writer = metrics_writer.MetricsWriter(workdir,
                                          enabled=jax.process_index() == 0)
    stack.callback(writer.close)
    writer.write_text("resume", f"start_step={start_step}", start_step)
    bar = metrics_writer.progress(cfg.train.steps, start_step,
                                  enabled=cfg.train.progress)
    stack.callback(bar.close)
    meter = _Meter(cfg, writer, bar, nonfinite_total)
    final: dict = {}
    step = saved_step = start_step
    gen_every = int(cfg.train.gen_eval_every)
    gen_batches = None
    if gen_every:
      gen_batches = dev_generation.select_batches(
          eval_batches if eval_batches is not None else
          pipeline.make_eval_batches(cfg.data, mesh=mesh,
                                     split=cfg.data.eval_split),
          int(cfg.train.gen_eval_per_lang))

    def save():
      nonlocal saved_step
      meter.flush()
      with meter.paused():
        checkpoint.save(mngr, step, state=state,
                        data_state=train_iter.get_state(),
                        replay_state=rl_state if keep_replay else None,
                        meta={"nonfinite_total": meter.nonfinite_total})
      saved_step = step

    while step < cfg.train.steps and not preempt.requested():
      batch = next(train_iter)
      state, rl_state, metrics = train_step(state, rl_state, batch)
      step += 1
      bar.update(1)
      meter.push(step, metrics)
      if cfg.train.eval_every and step % cfg.train.eval_every == 0:
        meter.flush()
        with meter.paused():
          final.update(_validate(cfg, eval_batches, state, eval_step, writer,
                                 step))
      if gen_every and step % gen_every == 0:
        meter.flush()
        with meter.paused():
          final.update(_validate_generation(cfg, sdef, stats, state,
                                            gen_batches, writer, step))
      if step % cfg.train.ckpt_every == 0 or step == cfg.train.steps:
        save()
    meter.flush()
    if preempt.requested():
      if saved_step != step:
        save()
      log.warning("stopped by SIGTERM at step %d (checkpointed)", step)
      final["preempted_at"] = step
  final.update(meter.last)
  final["step"] = step
  final["nonfinite_total"] = meter.nonfinite_total
  return final


def _validate_generation(cfg, sdef, stats, state, batches, writer,
                         step) -> dict:
  """dev/gen_dtw_mje[/LANG]: DTW-MJE of free-running generated dev poses."""
  model, _ = nnx.merge(sdef.graphdef, state)
  g = cfg.generate
  scores = dev_generation.dtw_mje_by_language(
      model, batches, stats, max_len=int(g.max_frames),
      length_mode=pose_decode.own_timing(cfg),
      stop_threshold=float(g.counter_threshold))
  scalars = {"dev/gen_dtw_mje": scores.pop("mean")}
  scalars.update({f"dev/gen_dtw_mje/{code}": v for code, v in scores.items()})
  writer.write_scalars(step, scalars)
  return scalars


def _validate(cfg, batches, state, eval_step, writer, step) -> dict:
  totals = {"loss_sum": 0.0, "mse_sum": 0.0, "count": 0.0}
  chosen = range(len(batches))
  if 0 < cfg.train.eval_batches < len(batches):
    # Batches come grouped by language: a prefix would see only the first
    # language(s), so take them evenly spread over the split.
    chosen = set(np.linspace(0, len(batches) - 1,
                             cfg.train.eval_batches).round().astype(int))
  for i, batch in enumerate(batches):
    if i not in chosen:
      continue
    out = jax.device_get(eval_step(state, batch))
    for k in totals:
      totals[k] += float(out[k])
  count = max(totals["count"], 1.0)
  scalars = {"dev/loss": totals["loss_sum"] / count,
             "dev/mse": totals["mse_sum"] / count,
             "dev/examples": totals["count"]}
  writer.write_scalars(step, scalars)
  return scalars
