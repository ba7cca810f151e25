"""Evaluators on text: back-translation and Prompt2LangGloss's LangGloss.

- `BackTranslation` ("backtranslation"): a sign-to-text model reads every
  system's poses (normalised frames, as the pose model produces them) and
  BLEU-1..4 / ROUGE-L compare its sentences with the source texts, per
  language; the ground-truth row is its ceiling. The back-translator is the
  workdir `cfg.evaluate.backtranslation_workdir`, loaded through
  `backtranslation.load`; evaluation never trains one: with none configured
  the evaluator skips and its note says how to train one.
- `LangGlossExact` ("langgloss"): Prompt2LangGloss models only; the % of
  examples whose stage-1 LangGloss equals the reference exactly.
"""

import logging

import numpy as np

from signllm_jax.data import normalize
from signllm_jax.evaluate import backtranslation
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import text_metrics

log = logging.getLogger(__name__)

_TRAIN_CONFIG = "experiments/backtranslation.py:cpu"
_OFF = ("", "none")


def train_hint(data_cfg) -> str:
  """How to train a back-translator for the evaluated model's dataset."""
  def field(name):
    value = None if data_cfg is None else data_cfg.get(name)
    return value if value not in (None, "") else name.upper()
  return (f"train a back-translator with `signllm train --config "
          f"{_TRAIN_CONFIG} --workdir W --config.data.name={field('name')} "
          f"--config.data.config={field('config')} "
          f"--config.data.data_dir={field('data_dir')}` and pass "
          "--config.evaluate.backtranslation_workdir=W")


class BackTranslation:
  """BLEU / ROUGE of back-translated poses (see the module docstring).

  Args:
    samples: (reference, back-translation) pairs kept per language and
      system in the JSON report.
    translator: an object with `.name` and `.translate(frames_list) ->
      list[str]` used instead of loading the configured workdir (tests,
      callers that hold one already).
  """

  def __init__(self, *, samples: int = 3, translator=None):
    if int(samples) < 0:
      raise ValueError(f"samples must be >= 0, got {samples}")
    self.samples = int(samples)
    self.translator = translator

  def _translator(self, ctx: context_lib.Context):
    if self.translator is not None:
      return self.translator
    where = str(ctx.evaluate_cfg.get("backtranslation_workdir") or "").strip()
    if where.lower() in _OFF:
      return None
    if ".py" in where:
      raise context_lib.EvaluateError(
          f"evaluate.backtranslation_workdir={where!r} is a config, not a "
          "trained workdir: evaluation never trains; " +
          train_hint(ctx.data_cfg))
    try:
      return backtranslation.load(where, tokenizer=ctx.tokenizer)
    except backtranslation.BackTranslationError as e:
      raise context_lib.EvaluateError(
          f"evaluate.backtranslation_workdir: {e}") from None

  def __call__(self, ctx: context_lib.Context) -> context_lib.Result:
    translator = self._translator(ctx)
    if translator is None:
      hint = train_hint(ctx.data_cfg)
      log.warning("no back-translator configured, BLEU/ROUGE skipped: %s",
                  hint)
      return context_lib.Result.skip(
          "no back-translator (evaluate.backtranslation_workdir is empty)",
          note=f"No back-translation (BLEU/ROUGE skipped): {hint}.")
    names = list(ctx.systems)
    n = len(ctx.examples)
    flat = [normalize.to_frames(p, ctx.stats) for name in names
            for p in ctx.systems[name]]
    out = list(translator.translate(flat))
    if len(out) != len(flat):
      raise context_lib.EvaluateError(
          f"{translator.name}: {len(out)} texts for {len(flat)} pose "
          "sequences")
    texts = {name: out[k * n:(k + 1) * n] for k, name in enumerate(names)}
    metrics = {lang: {} for lang in ctx.langs}
    for lang in ctx.langs:
      rows = ctx.rows(lang)
      refs = [ctx.examples[i].text for i in rows]
      for name in names:
        hyps = [texts[name][i] for i in rows]
        m = dict(text_metrics.text_scores(hyps, refs, lang=lang))
        m["samples"] = [{"reference": r, "backtranslation": h}
                        for r, h in list(zip(refs, hyps))[:self.samples]]
        metrics[lang][name] = m
    return context_lib.Result(
        metrics=metrics,
        note=f"Back-translation: {translator.name} (ground truth = its "
             "ceiling).",
        settings={"backtranslator": translator.name})


class LangGlossExact:
  """% of exact stage-1 LangGloss matches (Prompt2LangGloss models)."""

  def __call__(self, ctx: context_lib.Context) -> context_lib.Result:
    if not any(e.lang_gloss_pred is not None for e in ctx.examples):
      return context_lib.Result.skip(
          f"model mode {ctx.mode!r} predicts no LangGloss")
    metrics = {}
    for lang in ctx.langs:
      rows = [ctx.examples[i] for i in ctx.rows(lang)]
      exact = np.mean([e.lang_gloss_pred == e.lang_gloss_ref for e in rows])
      metrics[lang] = {ctx.model_name: {"langgloss_exact":
                                        float(100 * exact)}}
    return context_lib.Result(metrics=metrics)
