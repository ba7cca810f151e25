"""Prompt2LangGloss stage 1 (prompt -> LangGloss), measured on a split.

Every example of the split (at most `max_examples` per language) is decoded
greedily and with beam search (one compiled program each,
generate/gloss_decode.py) and scored against its reference LangGloss
(gloss_metrics.py): exact match, gloss WER and language-tag accuracy, per
language, for all prompts and separately for the prompts that name their
sign language (data/prompts.py: half of them do). On SynthSign the dev and
test prompts use templates held out from training, so this measures
wordings the model never saw.

The one place of evaluate/ besides systems.py that runs a model: a P2LG
workdir's `signllm evaluate` calls it for the report's stage-1 table.
"""

from typing import Any, Sequence

import jax
import numpy as np
import tqdm

from signllm_jax import languages
from signllm_jax.data import datasets
from signllm_jax.data import pipeline
from signllm_jax.data import prompts
from signllm_jax.evaluate import caps
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import gloss_metrics
from signllm_jax.generate import pipeline as gen

# "given": beam search with each prompt's sign language given (as
# `signllm generate --prompt ... --lang L` and the serve page's picker do),
# so only the glosses are the model's.
DECODINGS = ("greedy", "beam", "given")
SUBSETS = ("all", "named", "unnamed")


def _str(v) -> str:
  return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def decode(loaded, batch, decoding: str) -> np.ndarray:
  """LangGloss token rows [B, G] for batch["prompt"] by `decoding`
  ("given": beam search told each row's language, batch["lang"])."""
  if decoding not in DECODINGS:
    raise context_lib.EvaluateError(
        f"unknown stage-1 decoding {decoding!r}; known: "
        f"{', '.join(DECODINGS)}")
  src = {"prompt": batch["prompt"], "prompt_mask": batch["prompt_mask"]}
  if decoding == "given":
    src["given_lang"] = batch["lang"]
  return gen.decode_lang_gloss(
      loaded, src, decoding="beam" if decoding == "given" else decoding)


def collect(loaded, data_cfg, split: str, max_examples: int | None, *,
            decodings: Sequence[str] = DECODINGS,
            progress: bool = True) -> list[dict[str, Any]]:
  """One record per example: lang, prompt, reference and each decoding's
  prediction."""
  if loaded.mode != "p2lg":
    raise context_lib.EvaluateError(
        f"stage-1 evaluation needs a Prompt2LangGloss workdir; "
        f"{loaded.workdir} is mode {loaded.mode!r}")
  path = datasets.dataset_dir(data_cfg.name, data_cfg.config,
                              data_cfg.data_dir or None)
  source = datasets.data_source(path, split)
  batches = pipeline.make_eval_batches(data_cfg, mesh=loaded.mesh,
                                       split=split)
  cap = caps.PerLanguageCap(max_examples)
  out = []
  for batch in tqdm.tqdm(batches, total=len(batches), desc=f"stage 1 {split}",
                         disable=not progress):
    lang_B = np.asarray(jax.device_get(batch["lang"]))
    if cap.full(lang_B[0]):
      continue
    preds = {d: decode(loaded, batch, d) for d in decodings}
    host = jax.device_get({k: batch[k] for k in ("idx", "example_mask")})
    for row in cap.take(lang_B, host["example_mask"]):
      rec = source[int(host["idx"][row])]
      lang = languages.LANG_CODES[int(lang_B[row])]
      prompt = _str(rec["prompt"])
      out.append({
          "lang": lang, "prompt": prompt,
          "named": prompts.names_language(prompt, lang),
          "reference": _str(rec["lang_gloss"]),
          **{d: loaded.tokenizer.decode(preds[d][row]) for d in decodings}})
  if not out:
    raise context_lib.EvaluateError(
        f"{path}: split {split!r} has no examples in the model's languages")
  return out


def score_records(records: Sequence[dict[str, Any]],
                  decodings: Sequence[str] = DECODINGS
                  ) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
  """{lang: {decoding: {subset: Scores.as_dict()}}}; a subset without
  examples is left out."""
  out: dict[str, Any] = {}
  for lang in dict.fromkeys(r["lang"] for r in records):
    rows = [r for r in records if r["lang"] == lang]
    out[lang] = {}
    for d in decodings:
      out[lang][d] = {}
      for subset in SUBSETS:
        sel = [r for r in rows if subset == "all"
               or r["named"] == (subset == "named")]
        if sel:
          out[lang][d][subset] = gloss_metrics.score(
              [r["reference"] for r in sel], [r[d] for r in sel],
              [lang] * len(sel)).as_dict()
  return out


def to_markdown(scores) -> str:
  """One table: a row per language and decoding."""
  lines = ["| language | decoding | examples | exact % | gloss WER % | "
           "tag acc. % | tag acc. named % | tag acc. unnamed % |",
           "|---|---|---|---|---|---|---|---|"]
  for lang, by_dec in scores.items():
    for d, subsets in by_dec.items():
      a = subsets["all"]
      named = subsets.get("named", {}).get("tag_accuracy")
      unnamed = subsets.get("unnamed", {}).get("tag_accuracy")
      fmt = lambda v: "-" if v is None else f"{v:.1f}"
      lines.append(f"| {lang} | {d} | {a['examples']} | {a['exact']:.1f} | "
                   f"{a['gloss_wer']:.2f} | {a['tag_accuracy']:.1f} | "
                   f"{fmt(named)} | {fmt(unnamed)} |")
  return "\n".join(lines) + "\n"
