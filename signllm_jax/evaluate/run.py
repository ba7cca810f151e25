"""`signllm evaluate`: a trained workdir on one split -> per-language tables.

For every example of the split (each exactly once, `pipeline.make_eval_
batches`; `max_examples` caps each language), the model produces poses
twice: with its own predicted counter (the headline rows) and with oracle
timing (ground-truth length and counter, PT's published setting; a separate
row marked as such). Beside the model, the baselines of PAPER.md: the mean
training pose (repeated for the reference length), nearest-neighbour
retrieval by text (its own length) and the ground truth itself.

Metrics per language and system (report.COLUMNS):
- back-translation BLEU-1..4 and ROUGE-L: a sign-to-text model
  (evaluate/backtranslation.py) reads the poses; the ground-truth row is its
  ceiling. It is `cfg.evaluate.backtranslation_workdir` when that names a
  saved back-translator folder; otherwise trained on the train split and
  cached under `{data.data_dir or workdir}/backtranslator/` with the config
  `experiments/backtranslation.py` (or the `.py[:ARG]` spec the field
  holds). "none" skips back-translation.
- DTW (PT's variant, in PT file units = internal / 3) and DTW-MJE, the
  hand-motion ratio (produced / ground truth), and on SynthSign the exact
  recogniser's gloss accuracy (the reference signs' spans, scaled to the
  produced length).
Poses are compared in the internal convention after de-normalisation (a
missing ground-truth joint is the mean pose, as the model saw it).

Writes `{workdir}/eval_{split}.json` and `.md`, and GIFs of the first
`cfg.evaluate.render_samples` examples per language (produced | ground
truth) into `{workdir}/samples/`.
"""

import collections
import dataclasses
import logging
import pathlib
import time
from typing import Any, Sequence

import jax
import ml_collections
import numpy as np
import tqdm

from signllm_jax import config as config_lib
from signllm_jax import languages
from signllm_jax import render
from signllm_jax import skeleton
from signllm_jax.data import datasets
from signllm_jax.data import normalize
from signllm_jax.data import pipeline
from signllm_jax.data.synth import lexicon as lexicon_lib
from signllm_jax.data.synth import recognizer
from signllm_jax.evaluate import backtranslation as bt
from signllm_jax.evaluate import baselines
from signllm_jax.evaluate import dtw
from signllm_jax.evaluate import motion
from signllm_jax.evaluate import report as report_lib
from signllm_jax.evaluate import text_metrics
from signllm_jax.evaluate import train_backtranslator
from signllm_jax.generate import pipeline as gen
from signllm_jax.generate import pose_decode

log = logging.getLogger(__name__)

DEFAULT_BACKTRANSLATION = "experiments/backtranslation.py"
# Training examples per language the baselines are fitted on (mean pose,
# retrieval); enough for a stable mean, bounded reading time on big corpora.
BASELINE_TRAIN_EXAMPLES = 2000
_BATCH = 32  # rows per compiled DTW / back-translation call


class EvaluateError(ValueError):
  """A problem with the workdir, data or settings, stated for the user."""


@dataclasses.dataclass
class Example:
  idx: int
  lang: str
  text: str
  ref_TxJx3: np.ndarray
  pred_TxJx3: np.ndarray
  oracle_TxJx3: np.ndarray
  sign_ids: np.ndarray
  spans: np.ndarray
  lang_gloss_ref: str = ""
  lang_gloss_pred: str | None = None


def _str(v) -> str:
  return v.decode("utf-8") if isinstance(v, bytes) else str(v)


# --------------------------------------------------------------------------
# The model's poses.


def produce(loaded: gen.LoadedWorkdir, data_cfg, split: str,
            max_examples: int, *, progress: bool = True) -> list[Example]:
  """Both timings for each example of `split` (at most max_examples/lang)."""
  path = datasets.dataset_dir(data_cfg.name, data_cfg.config,
                              data_cfg.data_dir or None)
  source = datasets.data_source(path, split)
  batches = pipeline.make_eval_batches(data_cfg, mesh=loaded.mesh,
                                       split=split)
  limit = max_examples if max_examples and max_examples > 0 else None
  count = collections.Counter()
  out: list[Example] = []
  for batch in tqdm.tqdm(batches, total=len(batches), desc=f"evaluate {split}",
                         disable=not progress):
    lang_B = np.asarray(jax.device_get(batch["lang"]))
    if limit is not None and count[int(lang_B[0])] >= limit:
      continue  # batches are single-language: skip before generating
    pred = gen.generate_batch(loaded, batch,
                              length_mode=gen.own_timing(loaded))
    orc = gen.generate_batch(loaded, batch, length_mode="oracle",
                             lang_gloss=pred["lang_gloss"])
    host = jax.device_get({k: batch[k] for k in
                           ("pose", "length", "idx", "example_mask")})
    for row in np.flatnonzero(host["example_mask"]):
      lang_id = int(lang_B[row])
      if limit is not None and count[lang_id] >= limit:
        continue
      count[lang_id] += 1
      rec = source[int(host["idx"][row])]
      n = int(host["length"][row])
      ex = Example(
          idx=int(host["idx"][row]), lang=languages.LANG_CODES[lang_id],
          text=_str(rec["text"]),
          ref_TxJx3=gen.frames_to_pose(host["pose"][row, :n], loaded.stats),
          pred_TxJx3=gen.frames_to_pose(
              pred["frames"][row, :pred["lengths"][row]], loaded.stats),
          oracle_TxJx3=gen.frames_to_pose(
              orc["frames"][row, :orc["lengths"][row]], loaded.stats),
          sign_ids=np.asarray(rec.get("sign_ids", np.zeros(0)), np.int64),
          spans=np.asarray(rec.get("spans", np.zeros((0, 2))),
                           np.int64).reshape(-1, 2),
          lang_gloss_ref=_str(rec.get("lang_gloss", "")))
      if pred["lang_gloss"] is not None:
        ex.lang_gloss_pred = loaded.tokenizer.decode(pred["lang_gloss"][row])
      out.append(ex)
  if not out:
    raise EvaluateError(f"{path}: split {split!r} has no examples in the "
                        f"model's languages ({', '.join(loaded.langs)})")
  return out


# --------------------------------------------------------------------------
# Baselines.


def fit_baselines(path, langs: Sequence[str], tokenizer, *,
                  per_lang: int = BASELINE_TRAIN_EXAMPLES,
                  progress: bool = True) -> dict[str, tuple]:
  """{lang: (MeanPoseBaseline, NearestNeighbourBaseline)} from train."""
  source = datasets.data_source(path, "train")
  index = datasets.load_index(path, "train", tokenizer)
  out = {}
  for lang in tqdm.tqdm(langs, desc="baselines", disable=not progress):
    rows = np.flatnonzero(index["lang"] == languages.lang_index(lang))
    rows = rows[:per_lang]
    if not len(rows):
      raise EvaluateError(f"{path}: the train split has no {lang} examples "
                          "to fit the baselines on")
    recs = [source[int(i)] for i in rows]
    poses = [np.asarray(r["pose"], np.float32) for r in recs]
    texts = [_str(r["text"]) for r in recs]
    out[lang] = (baselines.MeanPoseBaseline().fit(poses),
                 baselines.NearestNeighbourBaseline().fit(texts, poses))
  return out


def _nan_to_mean(pose_TxJx3: np.ndarray, stats) -> np.ndarray:
  """Missing joints become the dataset mean, as for the references."""
  return np.where(np.isnan(pose_TxJx3), stats.mean_Jx3, pose_TxJx3).astype(
      np.float32)


# --------------------------------------------------------------------------
# Metrics.


def _pad_to(seqs: Sequence[np.ndarray], t_pad: int) -> np.ndarray:
  out = np.zeros((len(seqs), t_pad) + seqs[0].shape[1:], np.float32)
  for i, s in enumerate(seqs):
    out[i, :len(s)] = s[:t_pad]
  return out


def _round_up(n: int, m: int = 64) -> int:
  return max(m, -(-n // m) * m)


def dtw_scores(hyps: Sequence[np.ndarray], refs: Sequence[np.ndarray],
               *, t_pad: int | None = None,
               units_divisor: float = report_lib.PT_UNITS_DIVISOR
               ) -> tuple[np.ndarray, np.ndarray]:
  """Per-pair PT-DTW and DTW-MJE; one compiled shape per t_pad.

  Same definitions and units as `report.pose_metrics` (no BOS frame to
  drop: generation output starts with the first real frame).
  """
  longest = max(max(len(h) for h in hyps), max(len(r) for r in refs))
  t_pad = _round_up(longest) if t_pad is None else t_pad
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


def _hand_ratio(produced, refs) -> float | None:
  try:
    return motion.hand_motion_ratio(produced, refs)
  except ValueError as e:  # references without hand motion: undefined
    log.warning("hand-motion ratio undefined: %s", e)
    return None


def backtranslate(model, frames_list: Sequence[np.ndarray], tokenizer
                  ) -> list[str]:
  """Texts of normalised frame sequences (one compiled shape)."""
  max_frames = int(model.max_frames)
  longest = max(len(f) for f in frames_list)
  t_pad = min(_round_up(longest), max_frames)
  if longest > max_frames:
    log.warning("%d sequences are longer than the back-translator's %d "
                "frames and are cut for it", sum(len(f) > max_frames
                                                 for f in frames_list),
                max_frames)
  frames = _pad_to(frames_list, t_pad)
  masks = np.arange(t_pad)[None] < np.minimum(
      [len(f) for f in frames_list], t_pad)[:, None]
  # Pad to whole batches so the last chunk compiles like the others.
  n = len(frames)
  extra = (-n) % _BATCH
  if extra:
    frames = np.concatenate([frames, np.repeat(frames[:1], extra, 0)])
    masks = np.concatenate([masks, np.repeat(masks[:1], extra, 0)])
  texts = bt.translate(model, frames, masks, tokenizer.decode,
                       bos_id=tokenizer.bos_id, eos_id=tokenizer.eos_id,
                       batch_size=_BATCH)
  return texts[:n]


def _load_backtranslator(cfg, workdir: pathlib.Path, spec: str, *,
                         progress: bool):
  """(model, info) or (None, info) when back-translation is off."""
  spec = spec.strip()
  if spec.lower() == "none":
    return None, {"backtranslator": "none (skipped)"}
  if spec and ".py" not in spec:
    try:
      model, meta = train_backtranslator.load_backtranslator(spec)
    except FileNotFoundError as e:
      raise EvaluateError(f"evaluate.backtranslation_workdir: {e}") from None
    return model, {"backtranslator": spec, **_meta_info(meta)}
  try:
    bt_cfg = config_lib.load_config(spec or DEFAULT_BACKTRANSLATION)
  except ValueError as e:
    raise EvaluateError(f"back-translation config: {e}") from None
  bt_cfg = ml_collections.ConfigDict(bt_cfg.to_dict())
  # The evaluated model's dataset and tokenizer, whatever the file says.
  for k in ("name", "config", "data_dir", "langs", "max_text_len"):
    bt_cfg.data[k] = cfg.data[k]
  root = pathlib.Path(cfg.data.data_dir) if cfg.data.data_dir else workdir
  model, meta, where = train_backtranslator.get_or_train(
      bt_cfg, root, progress=progress)
  return model, {"backtranslator": str(where),
                 "backtranslation_config": spec or DEFAULT_BACKTRANSLATION,
                 **_meta_info(meta)}


def _meta_info(meta) -> dict:
  return {k: meta[k] for k in ("steps", "final_loss", "final_token_accuracy")
          if k in meta}


def _system_poses(examples, fitted, stats, model_name: str
                  ) -> dict[str, list[np.ndarray]]:
  oracle_name = f"{model_name}, oracle length"
  systems = {model_name: [e.pred_TxJx3 for e in examples],
             oracle_name: [e.oracle_TxJx3 for e in examples],
             report_lib.MEAN_POSE: [], report_lib.NEAREST_NEIGHBOUR: [],
             report_lib.GROUND_TRUTH: [e.ref_TxJx3 for e in examples]}
  for e in examples:
    mean, nn = fitted[e.lang]
    systems[report_lib.MEAN_POSE].append(
        _nan_to_mean(mean.predict(len(e.ref_TxJx3)), stats))
    systems[report_lib.NEAREST_NEIGHBOUR].append(
        _nan_to_mean(nn.predict(e.text), stats))
  return systems


def _gloss_accuracy(examples, poses, lexicon) -> np.ndarray:
  return np.array([
      recognizer.gloss_accuracy(p, e.lang, e.sign_ids, e.spans,
                                len(e.ref_TxJx3), lexicon=lexicon)
      if len(e.sign_ids) else np.nan for e, p in zip(examples, poses)])


def compute_metrics(examples: Sequence[Example],
                    systems: dict[str, list[np.ndarray]], *, stats,
                    bt_model, tokenizer, synthetic: bool,
                    progress: bool = True) -> dict[str, dict[str, dict]]:
  """{lang: {system: metrics}} (report.COLUMNS keys, plus counts)."""
  langs = list(dict.fromkeys(e.lang for e in examples))
  by_lang = {l: [i for i, e in enumerate(examples) if e.lang == l]
             for l in langs}
  refs = systems[report_lib.GROUND_TRUTH]
  lexicon = None
  if synthetic:
    lexicon = lexicon_lib.build()
  per_system: dict[str, dict[str, np.ndarray]] = {}
  names = list(systems)
  texts = {}
  if bt_model is not None:
    flat = [normalize.to_frames(p, stats) for name in names
            for p in systems[name]]
    out = backtranslate(bt_model, flat, tokenizer)
    for k, name in enumerate(names):
      texts[name] = out[k * len(examples):(k + 1) * len(examples)]
  # One padded length for every system: the DTW programs compile once.
  t_pad = _round_up(max(len(p) for name in names for p in systems[name]))
  for name in tqdm.tqdm(names, desc="metrics", disable=not progress):
    d, m = dtw_scores(systems[name], refs, t_pad=t_pad)
    per_system[name] = {"dtw": d, "dtw_mje": m}
    if synthetic:
      per_system[name]["gloss_accuracy"] = _gloss_accuracy(
          examples, systems[name], lexicon)
  results: dict[str, dict[str, dict]] = {}
  for lang in langs:
    rows = by_lang[lang]
    results[lang] = {}
    for name in names:
      s = per_system[name]
      metrics: dict[str, Any] = {
          "examples": len(rows),
          "dtw": float(np.mean(s["dtw"][rows])),
          "dtw_mje": float(np.mean(s["dtw_mje"][rows])),
          "hand_motion_ratio": _hand_ratio(
              [systems[name][i] for i in rows], [refs[i] for i in rows]),
      }
      if synthetic:
        acc = s["gloss_accuracy"][rows]
        metrics["gloss_accuracy"] = (float(100 * np.nanmean(acc))
                                     if np.isfinite(acc).any() else None)
      if texts:
        metrics.update(text_metrics.text_scores(
            [texts[name][i] for i in rows],
            [examples[i].text for i in rows], lang=lang))
        metrics["samples"] = [
            {"reference": examples[i].text,
             "backtranslation": texts[name][i]} for i in rows[:3]]
      results[lang][name] = metrics
  return results


# --------------------------------------------------------------------------
# The job.


def render_samples(examples: Sequence[Example], out_dir: pathlib.Path,
                   split: str, per_lang: int) -> list[pathlib.Path]:
  """GIFs produced | ground truth of the first per_lang examples per lang."""
  written, count = [], collections.Counter()
  for e in examples:
    if count[e.lang] >= per_lang:
      continue
    count[e.lang] += 1
    path = out_dir / f"{split}_{e.lang}_{e.idx:05d}.gif"
    written.append(render.render(
        e.pred_TxJx3, path, reference=e.ref_TxJx3, fps=gen.FPS,
        title=f"produced ({e.lang})", size=(200, 200)))
  return written


def evaluate_workdir(workdir: str | pathlib.Path, *, split: str | None = None,
                     max_examples: int | None = None,
                     overrides: Sequence[str] = (), progress: bool = True,
                     backtranslation: str | None = None,
                     baseline_train_examples: int = BASELINE_TRAIN_EXAMPLES,
                     ) -> dict[str, Any]:
  """Evaluates the newest checkpoint of `workdir` on `split`.

  Args:
    workdir: a training workdir (config.json + checkpoints/).
    split: dataset split (None: cfg.evaluate.split).
    max_examples: examples per language (None: cfg.evaluate.max_examples;
      <= 0: all).
    overrides: `a.b=value` config overrides (data.data_dir, generate.*,
      evaluate.*).
    progress: progress bars.
    backtranslation: overrides cfg.evaluate.backtranslation_workdir: a saved
      back-translator folder, an `experiments/X.py[:ARG]` spec to train (and
      cache) one with, or "none".
    baseline_train_examples: training examples per language for baselines.

  Returns:
    The report (report.build_report: "languages", "note", "settings", ...)
    plus "markdown", "json_path", "md_path" and "samples" (GIF paths).
  """
  workdir = pathlib.Path(workdir)
  t0 = time.perf_counter()
  try:
    loaded = gen.load_workdir(workdir, overrides)
  except gen.GenerateError as e:
    raise EvaluateError(str(e)) from None
  cfg = loaded.cfg
  split = split or cfg.evaluate.split
  if max_examples is None:
    max_examples = int(cfg.evaluate.max_examples)
  data_cfg = ml_collections.ConfigDict(cfg.data.to_dict())
  data_cfg.language_homogeneous = True  # per-language caps and MLSF groups
  try:
    path = datasets.dataset_dir(cfg.data.name, cfg.data.config,
                                cfg.data.data_dir or None)
    examples = produce(loaded, data_cfg, split, max_examples,
                       progress=progress)
  except (FileNotFoundError, ValueError) as e:
    if isinstance(e, EvaluateError):
      raise
    raise EvaluateError(str(e)) from None
  t_gen = time.perf_counter() - t0
  langs = list(dict.fromkeys(e.lang for e in examples))
  fitted = fit_baselines(path, langs, loaded.tokenizer,
                         per_lang=baseline_train_examples, progress=progress)
  spec = (cfg.evaluate.backtranslation_workdir if backtranslation is None
          else backtranslation)
  bt_model, bt_info = _load_backtranslator(cfg, workdir, spec,
                                           progress=progress)
  model_name = loaded.name
  systems = _system_poses(examples, fitted, loaded.stats, model_name)
  synthetic = cfg.data.name == "synth_sign"
  results = compute_metrics(examples, systems, stats=loaded.stats,
                            bt_model=bt_model, tokenizer=loaded.tokenizer,
                            synthetic=synthetic, progress=progress)
  if loaded.mode == "p2lg":
    for lang in results:
      rows = [e for e in examples if e.lang == lang]
      results[lang][model_name]["langgloss_exact"] = float(100 * np.mean(
          [e.lang_gloss_pred == e.lang_gloss_ref for e in rows]))
  note = (f"Row '{model_name}, oracle length' uses ground-truth timing. "
          "Mean pose: the mean training pose for the reference length; "
          "nearest neighbour: the training clip with the most similar text "
          "(its own length). DTW in PT file units (internal / 3). "
          + ("Back-translation: " + bt_info["backtranslator"] +
             " (ground truth = its ceiling)." if bt_model is not None
             else "No back-translation (BLEU/ROUGE skipped).")
          + (" Gloss accuracy: the exact SynthSign recogniser (%)."
             if synthetic else ""))
  settings = {
      "workdir": str(workdir), "step": loaded.step, "split": split,
      "dataset": f"{cfg.data.name}/{cfg.data.config}",
      "max_examples_per_language": max_examples,
      "examples": {l: sum(e.lang == l for e in examples) for l in langs},
      "baseline_train_examples_per_language": baseline_train_examples,
      "generate": cfg.generate.to_dict(), "dtw_units": "PT file units",
      **bt_info,
  }
  samples = render_samples(examples, workdir / "samples", split,
                           int(cfg.evaluate.render_samples))
  settings["seconds"] = {"generate": round(t_gen, 1),
                         "total": round(time.perf_counter() - t0, 1)}
  own = pose_decode.TIMING[gen.own_timing(loaded)]
  report = report_lib.build_report(results, timing=own, note=note,
                                   settings=settings)
  n = len(examples)
  markdown = (f"## {model_name} on {cfg.data.name}/{cfg.data.config} "
              f"{split} ({n} examples)\n\n" + report_lib.to_markdown(report))
  json_path, md_path = report_lib.write_report(report,
                                               workdir / f"eval_{split}")
  md_path.write_text(markdown, encoding="utf-8")
  log.info("evaluation of %d examples took %.0f s", n,
           settings["seconds"]["total"])
  return {**report, "markdown": markdown, "json_path": json_path,
          "md_path": md_path, "samples": samples}
