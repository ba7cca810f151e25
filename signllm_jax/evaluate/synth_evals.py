"""Gloss accuracy by the exact SynthSign recogniser ("gloss_accuracy").

Applicable only when the dataset carries a SynthSign lexicon (a capability
of the dataset, read from its metadata, never its name) and the examples
carry their reference signs: the recogniser cuts each produced pose into the
reference's sign spans (scaled to the produced length) and the score is the
% of spans recognised as the reference sign (data/synth/recognizer.py).
"""


import numpy as np

from signllm_jax.data.synth import lexicon as lexicon_lib
from signllm_jax.data.synth import recognizer
from signllm_jax.evaluate import context as context_lib


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
      acc = np.array([
          recognizer.gloss_accuracy(p, e.lang, e.sign_ids, e.spans,
                                    len(e.ref_TxJx3), lexicon=lexicon)
          if len(e.sign_ids) else np.nan
          for e, p in zip(ctx.examples, poses)])
      for lang in ctx.langs:
        a = acc[ctx.rows(lang)]
        metrics[lang][name] = {"gloss_accuracy": (
            float(100 * np.nanmean(a)) if np.isfinite(a).any() else None)}
    return context_lib.Result(
        metrics=metrics,
        note="Gloss accuracy: the exact SynthSign recogniser (%).")
