"""Evaluation report: per-language tables in the paper's layout, JSON + MD.

`pose_metrics` computes the pose-side numbers for one system (PT's DTW,
DTW-MJE, hand-motion and hand-travel ratios; `signllm evaluate` gets them
from the
evaluators of evaluators.py, which fill these columns). `build_report`
gathers metrics per language and system (a column no evaluator filled
prints as a dash); `to_markdown` prints one table per language with the
columns BLEU-1..4, ROUGE, DTW, DTW-MJE, hand-motion ratio, hand travel and
gloss accuracy on scaled and on DTW-aligned spans (synthetic data only),
rows: the model(s), then mean pose, nearest neighbour, lexicon (where the
dataset has isolated signs), ground truth, and a note saying which timing
produced the poses.
"""

import json
import math
import pathlib
from typing import Any, Mapping, Sequence

import numpy as np

from signllm_jax import skeleton
from signllm_jax.evaluate import dtw
from signllm_jax.evaluate import motion

COLUMNS = (
    ("bleu1", "BLEU-1"), ("bleu2", "BLEU-2"), ("bleu3", "BLEU-3"),
    ("bleu4", "BLEU-4"), ("rouge", "ROUGE"), ("dtw", "DTW"),
    ("dtw_mje", "DTW-MJE"), ("hand_motion_ratio", "Hand motion ratio"),
    ("hand_travel", "Hand travel"),
    ("gloss_accuracy", "Gloss acc. (synthetic)"),
    ("gloss_accuracy_dtw", "Gloss acc. DTW (synthetic)"),
)
MEAN_POSE, NEAREST_NEIGHBOUR, LEXICON, GROUND_TRUTH = (
    "mean pose", "nearest neighbour", "lexicon", "ground truth")
BASELINE_ROWS = (MEAN_POSE, NEAREST_NEIGHBOUR, LEXICON, GROUND_TRUTH)
TIMINGS = {
    "predicted": "predicted counter (the model stops when its counter "
                 "reaches 1; its own length)",
    "predicted length": "predicted length (the model's length head sets its "
                        "frame count; its own length)",
    "oracle": "oracle length (ground-truth frame count, as PT's published "
              "DTW)",
    "baselines": "no model; each baseline keeps its own timing",
}
# PT's DTW numbers are in its file units (internal coordinates / 3).
PT_UNITS_DIVISOR = 3.0


def _as_frames(seq: np.ndarray, where: str) -> np.ndarray:
  """[T, J, 3] (internal counter added) or [T, 151] -> [T, 151]."""
  seq = np.asarray(seq, np.float32)
  if seq.ndim == 3 and seq.shape[1:] == (skeleton.NUM_JOINTS, 3):
    return dtw.frames_with_counter(seq[None], [len(seq)])[0]
  if seq.ndim == 2 and seq.shape[1] == skeleton.FRAME_DIM:
    return seq
  raise ValueError(f"{where}: expected [T, {skeleton.NUM_JOINTS}, 3] or "
                   f"[T, {skeleton.FRAME_DIM}], got {seq.shape}")


def pose_metrics(produced: Sequence[np.ndarray],
                 references: Sequence[np.ndarray], *,
                 drop_hyp_first: bool = False,
                 units_divisor: float = PT_UNITS_DIVISOR,
                 batch_size: int = 32) -> dict[str, float]:
  """Mean PT-DTW, mean DTW-MJE, hand-motion and hand-travel ratios.

  Args:
    produced: per example [T, 50, 3] internal poses (counter (i+1)/T
      derived) or [T, 151] frames carrying the model's predicted counter.
    references: ground truth, same forms.
    drop_hyp_first: the produced sequences start with a BOS frame (PT).
    units_divisor: joint values are divided by it before both DTW metrics
      (3 = PT file units, comparable with PT's published DTW).
    batch_size: pairs per jitted DTW call.
  """
  if len(produced) != len(references) or not produced:
    raise ValueError(f"need equal, non-zero numbers of produced and reference "
                     f"sequences, got {len(produced)} and {len(references)}")
  hyp = [_as_frames(p, f"produced {i}") for i, p in enumerate(produced)]
  ref = [_as_frames(r, f"reference {i}") for i, r in enumerate(references)]
  scale = np.ones(skeleton.FRAME_DIM, np.float32)
  scale[:skeleton.POSE_DIM] /= units_divisor
  dtws, mjes = [], []
  for s in range(0, len(hyp), batch_size):
    h_pad, h_len = dtw.pad_sequences([h * scale for h in hyp[s:s + batch_size]])
    r_pad, r_len = dtw.pad_sequences([r * scale for r in ref[s:s + batch_size]])
    dtws.append(dtw.pt_dtw_scores(h_pad, r_pad, h_len, r_len,
                                  drop_hyp_first=drop_hyp_first))
    h_off = 1 if drop_hyp_first else 0
    mjes.append(dtw.dtw_mje_scores(
        h_pad[:, h_off:, :-1].reshape(len(h_len), -1, skeleton.NUM_JOINTS, 3),
        r_pad[..., :-1].reshape(len(r_len), -1, skeleton.NUM_JOINTS, 3),
        h_len - h_off, r_len))
  to_pose = lambda f: f[:, :-1].reshape(-1, skeleton.NUM_JOINTS, 3)
  hyp_poses = [to_pose(h[1:] if drop_hyp_first else h) for h in hyp]
  ref_poses = [to_pose(r) for r in ref]
  return {"dtw": float(np.mean(np.concatenate(dtws))),
          "dtw_mje": float(np.mean(np.concatenate(mjes))),
          "hand_motion_ratio": motion.hand_motion_ratio(hyp_poses, ref_poses),
          "hand_travel": motion.hand_travel_ratio(hyp_poses, ref_poses)}


def _order(systems: Sequence[str]) -> list[str]:
  models = [s for s in systems if s not in BASELINE_ROWS]
  return models + [s for s in BASELINE_ROWS if s in systems]


def build_report(results: Mapping[str, Mapping[str, Mapping[str, Any]]], *,
                 timing: str, note: str = "",
                 settings: Mapping[str, Any] | None = None) -> dict:
  """Gathers metrics as {lang: {system: {metric: value}}} into a report.

  Args:
    results: metric dicts per language and system; metric keys are those of
      COLUMNS (missing ones print as a dash) plus any extras (kept in JSON).
    timing: "predicted" or "oracle": how the model's poses were timed.
    note: free text added to the note (e.g. the back-translation model).
    settings: recorded verbatim (tokenizers, units, checkpoints...).
  """
  if timing not in TIMINGS:
    raise ValueError(f"timing must be one of {sorted(TIMINGS)}, got "
                     f"{timing!r}")
  text = f"Timing: {TIMINGS[timing]}."
  if note:
    text += " " + note
  langs = {}
  for lang, systems in results.items():
    langs[lang] = {name: {k: _clean(v) for k, v in systems[name].items()}
                   for name in _order(list(systems))}
  return {"timing": timing, "note": text, "settings": dict(settings or {}),
          "columns": [key for key, _ in COLUMNS], "languages": langs}


def _clean(value):
  if isinstance(value, (np.floating, np.integer)):
    value = value.item()
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def _fmt(value) -> str:
  if value is None or isinstance(value, str):
    return "–" if value is None else value
  return f"{value:.2f}"


def to_markdown(report: Mapping) -> str:
  """One table per language, the note under each."""
  lines = []
  header = "| System | " + " | ".join(title for _, title in COLUMNS) + " |"
  rule = "|---|" + "---:|" * len(COLUMNS)
  for lang, systems in report["languages"].items():
    lines += [f"### {lang}", "", header, rule]
    for name, metrics in systems.items():
      cells = [_fmt(metrics.get(key)) for key, _ in COLUMNS]
      lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Note: {report['note']}", ""]
  return "\n".join(lines)


def write_report(report: Mapping, out_prefix: str | pathlib.Path,
                 ) -> tuple[pathlib.Path, pathlib.Path]:
  """Writes `<prefix>.json` and `<prefix>.md`; returns both paths."""
  out_prefix = pathlib.Path(out_prefix)
  out_prefix.parent.mkdir(parents=True, exist_ok=True)
  json_path = out_prefix.with_suffix(".json")
  md_path = out_prefix.with_suffix(".md")
  json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False),
                       encoding="utf-8")
  md_path.write_text(to_markdown(report), encoding="utf-8")
  return json_path, md_path
