"""The poses evaluated: the model's (two timings) and the baselines'.

For every example of the split (each exactly once, `pipeline.make_eval_
batches`; `max_examples` caps each language), the model produces poses
twice: with its own timing (its length head or counter; the headline row)
and with oracle timing (ground-truth length and counter, PT's published
setting; a separate row). Beside the model, the baselines (signllm_jax/
baselines/): the mean training pose (repeated for the reference length),
nearest-neighbour retrieval by text (its own length), the gloss lexicon (the
isolated training signs of the example's reference glosses, joined by the
lexicon's timing rule; only where the train split has isolated signs) and
the ground truth itself. An example none of whose glosses has an isolated
clip gets the mean pose in the lexicon row; `lexicon_note` counts them.

This is the one module of evaluate/ that calls into generate/ (the decode
loop, timing and de-normalisation), so a move there changes one import.
"""

import collections
import logging
from typing import Sequence

import jax
import numpy as np
import tqdm

from signllm_jax import languages
from signllm_jax.baselines import fit as fit_lib
from signllm_jax.baselines import lexicon as lexicon_lib
from signllm_jax.data import datasets
from signllm_jax.data import pipeline
from signllm_jax.evaluate import caps
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import report as report_lib
from signllm_jax.generate import pipeline as gen
from signllm_jax.generate import pose_decode

log = logging.getLogger(__name__)

FPS = gen.FPS
# Training examples per language the mean pose and retrieval are fitted on
# (the lexicon scans fit.LEXICON_TRAIN_EXAMPLES for isolated signs).
BASELINE_TRAIN_EXAMPLES = fit_lib.TRAIN_EXAMPLES


EvaluateError = context_lib.EvaluateError


def _str(v) -> str:
  return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def own_timing(loaded) -> str:
  """The report's timing key of the model's own row (report.TIMINGS)."""
  try:
    return pose_decode.TIMING[gen.own_timing(loaded)]
  except gen.GenerateError as e:
    raise EvaluateError(str(e)) from None


def produce(loaded, data_cfg, split: str, max_examples: int, *,
            progress: bool = True) -> list[context_lib.Example]:
  """Both timings for each example of `split` (at most max_examples/lang)."""
  path = datasets.dataset_dir(data_cfg.name, data_cfg.config,
                              data_cfg.data_dir or None)
  source = datasets.data_source(path, split)
  batches = pipeline.make_eval_batches(data_cfg, mesh=loaded.mesh,
                                       split=split)
  cap = caps.PerLanguageCap(max_examples)
  timing = gen.own_timing(loaded)
  given = (loaded.mode == "p2lg"
           and bool(loaded.cfg.evaluate.get("p2lg_language_given", False)))
  out: list[context_lib.Example] = []
  for batch in tqdm.tqdm(batches, total=len(batches), desc=f"evaluate {split}",
                         disable=not progress):
    lang_B = np.asarray(jax.device_get(batch["lang"]))
    if cap.full(lang_B[0]):
      continue  # batches are single-language: skip before generating
    if given:
      batch = dict(batch, given_lang=batch["lang"])
    pred = gen.generate_batch(loaded, batch, length_mode=timing)
    orc = gen.generate_batch(loaded, batch, length_mode="oracle",
                             lang_gloss=pred["lang_gloss"])
    refg = None
    if loaded.mode == "p2lg":
      refg = gen.generate_batch(
          loaded, batch, length_mode=timing,
          lang_gloss=np.asarray(jax.device_get(batch["lang_gloss"])))
    host = jax.device_get({k: batch[k] for k in
                           ("pose", "length", "idx", "example_mask")})
    for row in cap.take(lang_B, host["example_mask"]):
      lang_id = int(lang_B[row])
      rec = source[int(host["idx"][row])]
      n = int(host["length"][row])
      lang = languages.LANG_CODES[lang_id]
      stats = loaded.stats_for(lang)  # per-language de-normalisation
      ex = context_lib.Example(
          idx=int(host["idx"][row]), lang=lang,
          text=_str(rec["text"]),
          ref_TxJx3=gen.frames_to_pose(host["pose"][row, :n], stats),
          pred_TxJx3=gen.frames_to_pose(
              pred["frames"][row, :pred["lengths"][row]], stats),
          oracle_TxJx3=gen.frames_to_pose(
              orc["frames"][row, :orc["lengths"][row]], stats),
          sign_ids=np.asarray(rec.get("sign_ids", np.zeros(0)), np.int64),
          spans=np.asarray(rec.get("spans", np.zeros((0, 2))),
                           np.int64).reshape(-1, 2),
          lang_gloss_ref=_str(rec.get("lang_gloss", "")))
      if pred["lang_gloss"] is not None:
        ex.lang_gloss_pred = loaded.tokenizer.decode(pred["lang_gloss"][row])
      if refg is not None:
        ex.ref_gloss_TxJx3 = gen.frames_to_pose(
            refg["frames"][row, :refg["lengths"][row]], stats)
      out.append(ex)
  if not out:
    raise EvaluateError(f"{path}: split {split!r} has no examples in the "
                        f"model's languages ({', '.join(loaded.langs)})")
  return out


def fit_baselines(path, langs: Sequence[str], tokenizer, *,
                  per_lang: int = BASELINE_TRAIN_EXAMPLES,
                  progress: bool = True) -> dict[str, fit_lib.Fitted]:
  """{lang: baselines.fit.Fitted} from the train split."""
  try:
    return fit_lib.fit(path, langs, tokenizer, per_lang=per_lang,
                       progress=progress)
  except fit_lib.FitError as e:
    raise EvaluateError(str(e)) from None


def nan_to_mean(pose_TxJx3: np.ndarray, stats) -> np.ndarray:
  """Missing joints become the dataset mean, as for the references."""
  return np.where(np.isnan(pose_TxJx3), stats.mean_Jx3, pose_TxJx3).astype(
      np.float32)


def lexicon_missing(fitted) -> str:
  """Why the lexicon row is left out ("" when every language has one)."""
  missing = {lang: f.lexicon_reason for lang, f in fitted.items()
             if f.lexicon is None}
  return "; ".join(f"{lang}: {why}" for lang, why in missing.items())


def lexicon_poses(examples: Sequence[context_lib.Example], fitted, stats
                  ) -> tuple[list[np.ndarray] | None, dict[str, int]]:
  """The lexicon's pose of each example's reference glosses, and counts.

  Returns (None, {}) when a language has no lexicon (the row is left out).
  counts: examples, glosses (reference tokens), skipped (unknown glosses),
  fallback (examples with no known gloss: the mean pose of the reference
  length).
  """
  if lexicon_missing(fitted):
    return None, {}
  counts = collections.Counter(examples=len(examples))
  poses = []
  for e in examples:
    f = fitted[e.lang]
    tokens = lexicon_lib.parse_glosses(e.lang_gloss_ref)
    counts["glosses"] += len(tokens)
    try:
      pose, rep = f.lexicon.predict_glosses(tokens)
      counts["skipped"] += len(rep.skipped)
    except lexicon_lib.UnknownInputError:
      pose = f.mean.predict(len(e.ref_TxJx3))
      counts["skipped"] += len(tokens)
      counts["fallback"] += 1
    poses.append(nan_to_mean(pose, stats))
  return poses, dict(counts)


def lexicon_note(examples: Sequence[context_lib.Example], fitted) -> str:
  """The report's sentence on the lexicon row (coverage or why it is out)."""
  missing = lexicon_missing(fitted)
  if missing:
    return f"No lexicon row: {missing}."
  counts = collections.Counter(examples=len(examples))
  for e in examples:
    lex = fitted[e.lang].lexicon
    tokens = lexicon_lib.parse_glosses(e.lang_gloss_ref)
    unknown = sum(lex.lookup(t) is None for t in tokens)
    counts["glosses"] += len(tokens)
    counts["skipped"] += unknown
    counts["fallback"] += bool(tokens) and unknown == len(tokens)
  lex = next(iter(fitted.values())).lexicon
  return (f"Lexicon: the isolated training sign ({lex.choice.replace('_', ' ')}"
          f" clip) of each reference gloss, cut to the sign and cross-faded "
          f"over {lex.blend_frames} frames at each join "
          f"(its own length); {counts['skipped']} of {counts['glosses']} "
          f"glosses had no isolated clip and were skipped, "
          f"{counts['fallback']} of {counts['examples']} examples had none "
          "known (mean pose).")


def system_poses(examples: Sequence[context_lib.Example], fitted, stats,
                 model_name: str) -> dict[str, list[np.ndarray]]:
  """{system: [pose per example]}: model, oracle, the baselines."""
  systems = {model_name: [e.pred_TxJx3 for e in examples],
             context_lib.oracle_row(model_name):
                 [e.oracle_TxJx3 for e in examples]}
  if examples and all(e.ref_gloss_TxJx3 is not None for e in examples):
    systems[context_lib.reference_gloss_row(model_name)] = [
        e.ref_gloss_TxJx3 for e in examples]
  systems.update({
             report_lib.MEAN_POSE: [], report_lib.NEAREST_NEIGHBOUR: []})
  for e in examples:
    f = fitted[e.lang]
    systems[report_lib.MEAN_POSE].append(
        nan_to_mean(f.mean.predict(len(e.ref_TxJx3)), stats))
    systems[report_lib.NEAREST_NEIGHBOUR].append(
        nan_to_mean(f.retrieval.predict(e.text), stats))
  lexicon, counts = lexicon_poses(examples, fitted, stats)
  if lexicon is None:
    log.info("no lexicon row: %s", lexicon_missing(fitted))
  else:
    systems[report_lib.LEXICON] = lexicon
    log.info("lexicon row: %s", counts)
  systems[report_lib.GROUND_TRUTH] = [e.ref_TxJx3 for e in examples]
  return systems
