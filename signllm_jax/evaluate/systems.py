"""The poses evaluated: the model's (two timings) and the baselines'.

For every example of the split (each exactly once, `pipeline.make_eval_
batches`; `max_examples` caps each language), the model produces poses
twice: with its own timing (its length head or counter; the headline row)
and with oracle timing (ground-truth length and counter, PT's published
setting; a separate row). Beside the model, the baselines of PAPER.md: the
mean training pose (repeated for the reference length), nearest-neighbour
retrieval by text (its own length) and the ground truth itself.

This is the one module of evaluate/ that calls into generate/ (the decode
loop, timing and de-normalisation), so a move there changes one import.
"""

import collections
from typing import Sequence

import jax
import numpy as np
import tqdm

from signllm_jax import languages
from signllm_jax.data import datasets
from signllm_jax.data import pipeline
from signllm_jax.evaluate import baselines
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import report as report_lib
from signllm_jax.generate import pipeline as gen
from signllm_jax.generate import pose_decode

FPS = gen.FPS
# Training examples per language the baselines are fitted on (mean pose,
# retrieval); enough for a stable mean, bounded reading time on big corpora.
BASELINE_TRAIN_EXAMPLES = 2000


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
  limit = max_examples if max_examples and max_examples > 0 else None
  timing = gen.own_timing(loaded)
  count = collections.Counter()
  out: list[context_lib.Example] = []
  for batch in tqdm.tqdm(batches, total=len(batches), desc=f"evaluate {split}",
                         disable=not progress):
    lang_B = np.asarray(jax.device_get(batch["lang"]))
    if limit is not None and count[int(lang_B[0])] >= limit:
      continue  # batches are single-language: skip before generating
    pred = gen.generate_batch(loaded, batch, length_mode=timing)
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
      ex = context_lib.Example(
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


def nan_to_mean(pose_TxJx3: np.ndarray, stats) -> np.ndarray:
  """Missing joints become the dataset mean, as for the references."""
  return np.where(np.isnan(pose_TxJx3), stats.mean_Jx3, pose_TxJx3).astype(
      np.float32)


def system_poses(examples: Sequence[context_lib.Example], fitted, stats,
                 model_name: str) -> dict[str, list[np.ndarray]]:
  """{system: [pose per example]}: model, oracle, the three baselines."""
  systems = {model_name: [e.pred_TxJx3 for e in examples],
             context_lib.oracle_row(model_name):
                 [e.oracle_TxJx3 for e in examples],
             report_lib.MEAN_POSE: [], report_lib.NEAREST_NEIGHBOUR: [],
             report_lib.GROUND_TRUTH: [e.ref_TxJx3 for e in examples]}
  for e in examples:
    mean, nn = fitted[e.lang]
    systems[report_lib.MEAN_POSE].append(
        nan_to_mean(mean.predict(len(e.ref_TxJx3)), stats))
    systems[report_lib.NEAREST_NEIGHBOUR].append(
        nan_to_mean(nn.predict(e.text), stats))
  return systems
