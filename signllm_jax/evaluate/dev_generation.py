"""Free-running dev metric for the trainer: DTW-MJE of generated poses.

Teacher-forced dev MSE rewards copying the previous frame, and a model can
lower it while its generations get worse (exposure bias: README, "Results").
What users get is free-running decoding, so the trainer can also log the
DTW-MJE of generated dev poses (`train.gen_eval_every`), the quantity the RL
ablation measures "steps to reach". Same definition and units as
`signllm evaluate` (evaluate/pose_evals.py: internal units /
PT_UNITS_DIVISOR, missing joints at the mean pose), in the model's own
timing.

Prompt2LangGloss models are scored on stage 2 from the gold LangGloss of
the batch (the stage-1 decoder is not run here); `signllm evaluate` scores
the full pipeline.
"""

from collections.abc import Iterable, Mapping, Sequence

import jax
import numpy as np
from jax.experimental import multihost_utils

from signllm_jax import languages
from signllm_jax.data import normalize
from signllm_jax.evaluate import dtw
from signllm_jax.evaluate import report as report_lib
from signllm_jax.generate import pose_decode

_SOURCE_KEYS = ("text", "text_mask", "lang_gloss", "lang_gloss_mask", "lang",
                "pose", "length")


def select_batches(batches: Iterable[Mapping[str, jax.Array]],
                   per_lang: int) -> list[dict]:
  """The leading batches of each language until it has >= per_lang examples.

  Eval batches are single-language (pipeline.make_eval_batches), so whole
  batches are taken; the subset is the same at every call (fixed order).
  """
  if per_lang <= 0:
    raise ValueError(f"per_lang must be positive, got {per_lang}")
  count: dict[int, int] = {}
  chosen = []
  for batch in batches:
    lang = int(_host(batch["lang"])[0])
    if count.get(lang, 0) >= per_lang:
      continue
    count[lang] = count.get(lang, 0) + int(_host(batch["example_mask"]).sum())
    chosen.append(dict(batch))
  return chosen


def _host(x) -> np.ndarray:
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
  return np.asarray(jax.device_get(x))


def dtw_mje_by_language(model, batches: Sequence[Mapping[str, jax.Array]],
                        stats: normalize.PoseStats, *, max_len: int,
                        length_mode: str = "counter",
                        stop_threshold: float | None = None,
                        units_divisor: float = report_lib.PT_UNITS_DIVISOR
                        ) -> dict[str, float]:
  """Mean DTW-MJE of generated vs reference poses, per language code.

  Returns {"ASL": ..., ...} over the real rows (example_mask) of `batches`,
  plus "mean": the unweighted mean over the languages present.
  """
  per_lang: dict[str, list[np.ndarray]] = {}
  for batch in batches:
    arrays = {k: batch[k] for k in _SOURCE_KEYS if k in batch}
    out = pose_decode.generate_pose(model, arrays, max_len=max_len,
                                    length_mode=length_mode,
                                    stop_threshold=stop_threshold)
    hyp_BxTxF, hyp_len_B = _host(out["pose"]), _host(out["lengths"])
    ref_BxTxF, ref_len_B = _host(batch["pose"]), _host(batch["length"])
    mask_B, lang_B = _host(batch["example_mask"]), _host(batch["lang"])
    hyp = np.asarray(normalize.from_frames(hyp_BxTxF, stats)) / units_divisor
    ref = np.asarray(normalize.from_frames(ref_BxTxF, stats)) / units_divisor
    # Generated lengths are >= 1 (the stopping frame is kept); the clamp
    # only guards padding rows, which are dropped below.
    scores = dtw.dtw_mje_scores(hyp, ref, np.maximum(hyp_len_B, 1),
                                np.maximum(ref_len_B, 1))
    for row in np.flatnonzero(mask_B):
      code = languages.LANG_CODES[int(lang_B[row])]
      per_lang.setdefault(code, []).append(scores[row])
  if not per_lang:
    raise ValueError("no real rows in the dev batches")
  result = {code: float(np.mean(v)) for code, v in sorted(per_lang.items())}
  result["mean"] = float(np.mean(list(result.values())))
  return result
