"""Evaluators on the poses themselves: distance, hand motion, rendering.

- `PoseDistance` ("pose_distance"): PT's DTW and DTW-MJE of each system
  against the ground truth, in PT file units (internal / units_divisor),
  averaged per language. Poses are compared in the internal convention
  after de-normalisation (a missing ground-truth joint is the mean pose, as
  the model saw it).
- `HandMotion` ("hand_motion"): the hand-motion ratio (mean hand speed)
  and the hand-travel ratio (total hand path length, SLRTP 2025's "total
  distance"), produced / ground truth, per language (motion.py); still
  poses score 0 on both.
- `Render` ("render"): GIFs produced | ground truth of the first
  `cfg.evaluate.render_samples` examples per language into
  `{workdir}/samples/`.
"""

import collections
import logging
from typing import Sequence

import numpy as np

from signllm_jax import render
from signllm_jax import skeleton
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import dtw
from signllm_jax.evaluate import motion
from signllm_jax.evaluate import report as report_lib

log = logging.getLogger(__name__)

_BATCH = 32  # rows per compiled DTW call
_ROUND = 64  # padded lengths: multiples of this (few compiled shapes)


def _pad_to(seqs: Sequence[np.ndarray], t_pad: int) -> np.ndarray:
  out = np.zeros((len(seqs), t_pad) + seqs[0].shape[1:], np.float32)
  for i, s in enumerate(seqs):
    out[i, :len(s)] = s[:t_pad]
  return out


def round_up(n: int, m: int = _ROUND) -> int:
  return max(m, -(-n // m) * m)


def dtw_scores(hyps: Sequence[np.ndarray], refs: Sequence[np.ndarray],
               *, t_pad: int | None = None,
               units_divisor: float = report_lib.PT_UNITS_DIVISOR
               ) -> tuple[np.ndarray, np.ndarray]:
  """Per-pair PT-DTW and DTW-MJE of [T, J, 3] poses; one shape per t_pad.

  Same definitions and units as `report.pose_metrics` (no BOS frame to
  drop: generation output starts with the first real frame).
  """
  if len(hyps) != len(refs) or not hyps:
    raise ValueError(f"need equal, non-zero numbers of produced and "
                     f"reference poses, got {len(hyps)} and {len(refs)}")
  longest = max(max(len(h) for h in hyps), max(len(r) for r in refs))
  t_pad = round_up(longest) if t_pad is None else t_pad
  if t_pad < longest:
    raise ValueError(f"t_pad {t_pad} < the longest sequence ({longest})")
  scale = np.ones(skeleton.FRAME_DIM, np.float32)
  scale[:skeleton.POSE_DIM] /= units_divisor
  pt, mje = [], []
  for s in range(0, len(hyps), _BATCH):
    h, r = list(hyps[s:s + _BATCH]), list(refs[s:s + _BATCH])
    n = len(h)
    h += [h[-1]] * (_BATCH - n)  # padding rows: dropped below
    r += [r[-1]] * (_BATCH - n)
    h_len = np.array([len(x) for x in h], np.int32)
    r_len = np.array([len(x) for x in r], np.int32)
    h_pose, r_pose = _pad_to(h, t_pad), _pad_to(r, t_pad)
    h_frames = dtw.frames_with_counter(h_pose, h_len) * scale
    r_frames = dtw.frames_with_counter(r_pose, r_len) * scale
    pt.append(dtw.pt_dtw_scores(h_frames, r_frames, h_len, r_len,
                                drop_hyp_first=False)[:n])
    mje.append(dtw.dtw_mje_scores(h_pose / units_divisor,
                                  r_pose / units_divisor, h_len, r_len)[:n])
  return np.concatenate(pt), np.concatenate(mje)


class PoseDistance:
  """DTW and DTW-MJE against the ground truth (see the module docstring)."""

  def __init__(self, *, units_divisor: float = report_lib.PT_UNITS_DIVISOR):
    if not units_divisor > 0:
      raise ValueError(f"units_divisor must be > 0, got {units_divisor}")
    self.units_divisor = float(units_divisor)

  def __call__(self, ctx: context_lib.Context) -> context_lib.Result:
    refs = ctx.systems[report_lib.GROUND_TRUTH]
    # One padded length for every system: the DTW programs compile once.
    t_pad = round_up(max(len(p) for poses in ctx.systems.values()
                         for p in poses))
    metrics = {lang: {} for lang in ctx.langs}
    for name, poses in ctx.systems.items():
      d, m = dtw_scores(poses, refs, t_pad=t_pad,
                        units_divisor=self.units_divisor)
      for lang in ctx.langs:
        rows = ctx.rows(lang)
        metrics[lang][name] = {"dtw": float(np.mean(d[rows])),
                               "dtw_mje": float(np.mean(m[rows]))}
    units = ("PT file units" if self.units_divisor == 3.0 else
             f"internal units / {self.units_divisor:g}")
    return context_lib.Result(
        metrics=metrics,
        note=f"DTW in {units} (internal / {self.units_divisor:g}).",
        settings={"dtw_units": units})


class HandMotion:
  """Hand-motion and hand-travel ratios produced / ground truth."""

  def __call__(self, ctx: context_lib.Context) -> context_lib.Result:
    refs = ctx.systems[report_lib.GROUND_TRUTH]
    metrics = {lang: {} for lang in ctx.langs}
    for lang in ctx.langs:
      rows = ctx.rows(lang)
      for name, poses in ctx.systems.items():
        prod, ref = [poses[i] for i in rows], [refs[i] for i in rows]
        row = {}
        for key, ratio_fn in (("hand_motion_ratio", motion.hand_motion_ratio),
                              ("hand_travel", motion.hand_travel_ratio)):
          try:
            row[key] = ratio_fn(prod, ref)
          except ValueError as e:  # references without hand motion
            log.warning("%s: %s undefined: %s", lang, key, e)
            row[key] = None
        metrics[lang][name] = row
    return context_lib.Result(metrics=metrics)


class Render:
  """GIFs of the model's poses beside the ground truth."""

  def __init__(self, *, size: int = 200):
    if int(size) < 16:
      raise ValueError(f"render size must be >= 16 pixels, got {size}")
    self.size = int(size)

  def __call__(self, ctx: context_lib.Context) -> context_lib.Result:
    per_lang = int(ctx.evaluate_cfg.get("render_samples", 0) or 0)
    if per_lang <= 0:
      return context_lib.Result.skip("evaluate.render_samples is 0")
    out_dir = ctx.workdir / "samples"
    written, count = [], collections.Counter()
    for e in ctx.examples:
      if count[e.lang] >= per_lang:
        continue
      count[e.lang] += 1
      path = out_dir / f"{ctx.split}_{e.lang}_{e.idx:05d}.gif"
      written.append(render.render(
          e.pred_TxJx3, path, reference=e.ref_TxJx3, fps=ctx.fps,
          title=f"produced ({e.lang})", size=(self.size, self.size)))
    return context_lib.Result(files=written)
