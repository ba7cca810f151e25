"""Gloss accuracy by the exact SynthSign recogniser ("gloss_accuracy").

Applicable only when the dataset carries a SynthSign lexicon (a capability
of the dataset, read from its metadata, never its name) and the examples
carry their reference signs. The recogniser cuts each produced pose into the
reference's sign spans and the score is the % of spans recognised as the
reference sign (data/synth/recognizer.py). Two columns, two ways of finding
the spans in the produced pose:
- `gloss_accuracy`: the reference spans scaled to the produced length
  (right only when the production keeps the reference's rhythm);
- `gloss_accuracy_dtw`: the produced pose aligned to the reference by the
  DTW-MJE path (dtw.mje_paths), each reference span [s, e) mapped onto the
  produced frames matched to its frames (dtw.map_spans), so a production
  with its own timing is read where it signs. The ground truth aligns to
  itself on the diagonal: the same score in both columns.
"""


import numpy as np

from signllm_jax.data.synth import lexicon as lexicon_lib
from signllm_jax.data.synth import recognizer
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import dtw


def dtw_gloss_accuracy(poses, examples, *, lexicon) -> np.ndarray:
  """Per-example fraction recognised after DTW alignment (NaN: no signs)."""
  rows = [k for k, e in enumerate(examples) if len(e.sign_ids)]
  acc = np.full(len(examples), np.nan)
  if not rows:
    return acc
  paths = dtw.mje_paths([poses[k] for k in rows],
                        [examples[k].ref_TxJx3 for k in rows])
  for k, path in zip(rows, paths):
    e = examples[k]
    spans = dtw.map_spans(path, e.spans)
    pred = recognizer.recognize(poses[k], e.lang, spans, lexicon=lexicon)
    acc[k] = float(np.mean(pred == np.asarray(e.sign_ids).reshape(-1)))
  return acc


def dataset_lexicon(metadata) -> lexicon_lib.Lexicon | None:
  """The SynthSign lexicon a dataset's metadata declares, else None.

  `lexicon_seed` names it; a SynthSign build without that field (built
  before it existed) is recognised by its `corpus` record, whose signs
  come from the default lexicon.
  """
  metadata = metadata or {}
  if "lexicon_seed" in metadata:
    return lexicon_lib.build(int(metadata["lexicon_seed"]))
  corpus = metadata.get("corpus")
  if isinstance(corpus, dict) and "seed" in corpus:
    return lexicon_lib.build()
  return None


class GlossAccuracy:
  """The SynthSign recogniser's gloss accuracy (see the module docstring)."""

  def __call__(self, ctx: context_lib.Context) -> context_lib.Result:
    lexicon = dataset_lexicon(ctx.dataset_metadata)
    if lexicon is None:
      return context_lib.Result.skip("the dataset carries no SynthSign "
                                     "lexicon")
    if not any(len(e.sign_ids) for e in ctx.examples):
      return context_lib.Result.skip("the examples carry no reference signs")
    metrics = {lang: {} for lang in ctx.langs}
    for name, poses in ctx.systems.items():
      scaled = np.array([
          recognizer.gloss_accuracy(p, e.lang, e.sign_ids, e.spans,
                                    len(e.ref_TxJx3), lexicon=lexicon)
          if len(e.sign_ids) else np.nan
          for e, p in zip(ctx.examples, poses)])
      aligned = dtw_gloss_accuracy(poses, ctx.examples, lexicon=lexicon)
      for lang in ctx.langs:
        rows = ctx.rows(lang)
        metrics[lang][name] = {"gloss_accuracy": _percent(scaled[rows]),
                               "gloss_accuracy_dtw": _percent(aligned[rows])}
    return context_lib.Result(
        metrics=metrics,
        note="Gloss accuracy: the exact SynthSign recogniser (%), on the "
             "reference spans scaled to the produced length, and (DTW) "
             "mapped through the DTW-MJE alignment.")


def _percent(acc: np.ndarray) -> float | None:
  return float(100 * np.nanmean(acc)) if np.isfinite(acc).any() else None
