"""train_and_evaluate(cfg, workdir): the one training loop.

Order (big_vision): mesh -> data -> model + optimizer (eval_shape, then jit
with out_shardings) -> restore -> compile steps -> loop. Only this module and
the CLI touch files, logs and clocks.
"""

import dataclasses
import json
import logging
import pathlib
import signal
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from signllm_jax import checkpoint
from signllm_jax import config as config_lib
from signllm_jax import languages
from signllm_jax import metrics_writer
from signllm_jax import optim
from signllm_jax import rl
from signllm_jax import sharding
from signllm_jax import steps
from signllm_jax.data import datasets
from signllm_jax.data import pipeline
from signllm_jax.model import signllm

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
  pass


@dataclasses.dataclass
class TrainSetup:
  """Everything built from a config; reused by generate/evaluate/bench."""
  cfg: Any
  mesh: jax.sharding.Mesh
  graphdef: Any
  state: Any
  state_shardings: Any
  tokenizer: Any
  stats: Any
  num_langs: int
  langs: tuple[str, ...]


def build_setup(cfg, *, total_steps: int | None = None,
                init_state: bool = True) -> TrainSetup:
  """Mesh, tokenizer, model + optimizer state (sharded at creation)."""
  mesh = sharding.make_mesh(cfg.mesh)
  rules = sharding.logical_rules(cfg.mesh)
  data_dir = cfg.data.data_dir or None
  try:
    tokenizer = datasets.load_tokenizer(cfg.data.name, cfg.data.config,
                                        data_dir=data_dir)
    stats = datasets.load_stats(cfg.data.name, cfg.data.config,
                                data_dir=data_dir)
  except FileNotFoundError as e:
    raise TrainingError(str(e)) from None
  langs = languages.parse_langs(cfg.data.langs)
  num_langs = languages.NUM_LANGS
  tx = optim.make_optimizer(cfg.optim, total_steps or cfg.train.steps)

  def create():
    model = signllm.build_model(cfg.model, vocab_size=tokenizer.vocab_size,
                                num_langs=num_langs,
                                rngs=nnx.Rngs(cfg.seed))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    return nnx.state((model, optimizer))

  abstract = jax.eval_shape(create)
  with nnx.use_eager_sharding(False):
    model_abs = nnx.eval_shape(lambda: signllm.build_model(
        cfg.model, vocab_size=tokenizer.vocab_size, num_langs=num_langs,
        rngs=nnx.Rngs(cfg.seed)))
    graphdef, _ = nnx.split((model_abs, nnx.Optimizer(model_abs, tx,
                                                      wrt=nnx.Param)))
  state_sh = sharding.state_shardings(abstract, mesh, rules)
  state = jax.jit(create, out_shardings=state_sh)() if init_state else abstract
  return TrainSetup(cfg=cfg, mesh=mesh, graphdef=graphdef, state=state,
                    state_shardings=state_sh, tokenizer=tokenizer, stats=stats,
                    num_langs=num_langs, langs=langs)


class _Preemption:
  """SIGTERM -> save a checkpoint and exit cleanly at the next step."""

  def __init__(self):
    self.requested = False
    self._old = None

  def __enter__(self):
    def handler(signum, frame):
      del frame
      log.warning("signal %d received: checkpointing and stopping", signum)
      self.requested = True
    try:
      self._old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. some test runners)
      self._old = None
    return self

  def __exit__(self, *exc):
    if self._old is not None:
      signal.signal(signal.SIGTERM, self._old)


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
  if jax.process_index() == 0:
    _write_config(cfg, workdir)
  setup = build_setup(cfg)
  mesh, graphdef = setup.mesh, setup.graphdef
  state = setup.state

  train_iter = pipeline.make_train_iterator(cfg.data, mesh=mesh,
                                            seed=cfg.seed)
  example_batch = None
  if cfg.rl.mode == "rl_plc":
    # The replay stores rows at max_frames; peek one batch for the shapes.
    fresh_state = train_iter.get_state()
    example_batch = steps.replay_item_spec(next(train_iter),
                                           max_frames=cfg.data.max_frames)
    train_iter.set_state(fresh_state)
  rl_state = rl.init_state(cfg.rl, example_batch=example_batch, mesh=mesh)

  mngr = checkpoint.make_manager(workdir / "checkpoints",
                                 max_to_keep=cfg.train.max_to_keep,
                                 async_save=cfg.train.async_checkpointing)
  start_step = 0
  restored = checkpoint.restore_latest(
      mngr, state_target=state,
      replay_target=rl_state if rl.has_state(cfg.rl) else None)
  if restored is not None:
    state = restored["state"]
    if restored["replay_state"] is not None:
      rl_state = restored["replay_state"]
    train_iter.set_state(restored["data_state"])
    start_step = restored["step"]
    log.info("resumed from step %d%s", start_step,
             f" (skipped broken steps {restored['skipped_steps']})"
             if restored["skipped_steps"] else "")

  group_mask = None
  if cfg.model.mode == "mlsf" and not cfg.model.shared_multilingual:
    group_mask = steps.group_leaf_mask(state, setup.num_langs)
  train_step = jax.jit(
      steps.make_train_step(graphdef, model_cfg=cfg.model, rl_cfg=cfg.rl,
                            group_mask=group_mask,
                            plateau=cfg.optim.schedule == "plateau",
                            mesh=mesh, seed=cfg.seed),
      donate_argnums=(0, 1))
  eval_step = jax.jit(steps.make_eval_step(graphdef, model_cfg=cfg.model))
  lr_fn = optim.learning_rate_schedule(cfg.optim, cfg.train.steps)

  writer = metrics_writer.MetricsWriter(workdir, enabled=jax.process_index() == 0)
  writer.write_text("resume", f"start_step={start_step}", start_step)
  final: dict = {}
  consecutive_nonfinite = 0
  nonfinite_total = 0
  pending = None  # metrics fetched one step late: no host sync per step
  last_time, frames_since = time.perf_counter(), 0
  bar = metrics_writer.progress(cfg.train.steps, start_step,
                                enabled=cfg.train.progress)

  def flush(step, m):
    nonlocal consecutive_nonfinite, nonfinite_total, frames_since, last_time
    m = jax.device_get(m)
    consecutive_nonfinite = consecutive_nonfinite + 1 if m["nonfinite"] else 0
    nonfinite_total += int(m["nonfinite"])
    frames_since += int(m["frames"])
    if consecutive_nonfinite >= cfg.train.max_consecutive_nonfinite:
      raise TrainingError(
          f"{consecutive_nonfinite} consecutive non-finite losses at step "
          f"{step} (updates were skipped); lower optim.lr or check the data")
    if step % cfg.train.log_every == 0 or step == cfg.train.steps:
      now = time.perf_counter()
      scalars = {k: float(np.asarray(v)) for k, v in m.items()
                 if np.ndim(v) == 0}
      scalars["lr"] = float(lr_fn(step))
      scalars["frames_per_s"] = frames_since / max(now - last_time, 1e-9)
      scalars["nonfinite_total"] = nonfinite_total
      writer.write_scalars(step, {f"train/{k}": v for k, v in scalars.items()})
      bar.set_postfix(loss=f"{scalars['loss']:.4f}",
                      fps=f"{scalars['frames_per_s']:.0f}")
      frames_since, last_time = 0, now
      final.update(scalars)

  with _Preemption() as preempt:
    step = start_step
    try:
      while step < cfg.train.steps:
        batch = next(train_iter)
        state, rl_state, metrics = train_step(state, rl_state, batch)
        step += 1
        bar.update(1)
        if pending is not None:
          flush(*pending)
        pending = (step, metrics)
        if cfg.train.eval_every and step % cfg.train.eval_every == 0:
          flush(*pending)
          pending = None
          final.update(_validate(cfg, setup, state, eval_step, writer, step))
        if (step % cfg.train.ckpt_every == 0 or step == cfg.train.steps
            or preempt.requested):
          if pending is not None:
            flush(*pending)
            pending = None
          checkpoint.save(mngr, step, state=state,
                          data_state=train_iter.get_state(),
                          replay_state=rl_state if rl.has_state(cfg.rl)
                          else None)
        if preempt.requested:
          log.warning("stopped by SIGTERM at step %d after checkpointing", step)
          final["preempted_at"] = step
          break
      if pending is not None:
        flush(*pending)
    finally:
      bar.close()
      mngr.wait_until_finished()
      mngr.close()
      writer.close()
  final["step"] = step
  final["nonfinite_total"] = nonfinite_total
  return final


def _validate(cfg, setup, state, eval_step, writer, step) -> dict:
  totals = {"loss_sum": 0.0, "mse_sum": 0.0, "count": 0.0}
  for i, batch in enumerate(pipeline.make_eval_batches(
      cfg.data, mesh=setup.mesh, split=cfg.data.eval_split)):
    if cfg.train.eval_batches > 0 and i >= cfg.train.eval_batches:
      break
    out = jax.device_get(eval_step(state, batch))
    for k in totals:
      totals[k] += float(out[k])
  count = max(totals["count"], 1.0)
  scalars = {"dev/loss": totals["loss_sum"] / count,
             "dev/mse": totals["mse_sum"] / count,
             "dev/examples": totals["count"]}
  writer.write_scalars(step, scalars)
  return scalars
