"""The baselines fitted per language on a dataset's train split.

`fit(path, langs, tokenizer)` -> {lang: Fitted}: the mean pose and the
retrieval baseline from the language's first `per_lang` training examples
(enough for a stable mean, bounded reading time on big corpora), the
lexicon from the isolated-sign examples among its first `lexicon_per_lang`
(default 5000: all of SynthSign small's 4000; on SynthSign, ~1500 isolated
signs, ~7 clips per concept, so nearly every gloss has one).
A language without isolated signs (real corpora of sentences) gets
`lexicon=None` and the reason in `lexicon_reason`.
"""

import dataclasses
import os
from typing import Sequence

import numpy as np
import tqdm

from signllm_jax import languages
from signllm_jax.baselines import lexicon as lexicon_lib
from signllm_jax.baselines import mean_pose
from signllm_jax.baselines import retrieval
from signllm_jax.data import datasets

TRAIN_EXAMPLES = 2000
LEXICON_TRAIN_EXAMPLES = 5000


class FitError(ValueError):
  """The train split cannot fit the baselines (stated for the user)."""


@dataclasses.dataclass
class Fitted:
  """One language's baselines."""
  mean: mean_pose.MeanPoseBaseline
  retrieval: retrieval.NearestNeighbourBaseline
  lexicon: lexicon_lib.LexiconBaseline | None
  lexicon_reason: str = ""  # why `lexicon` is None
  train_examples: int = 0  # read for the mean pose and retrieval


def _str(v) -> str:
  return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def fit(path: os.PathLike, langs: Sequence[str], tokenizer, *,
        per_lang: int = TRAIN_EXAMPLES,
        lexicon_per_lang: int | None = LEXICON_TRAIN_EXAMPLES,
        blend_frames: int = lexicon_lib.BLEND_FRAMES,
        choice: str = "medoid", split: str = "train",
        progress: bool = True) -> dict[str, Fitted]:
  """{lang: Fitted} from the train split of the dataset at `path`.

  Args:
    path: a built dataset's version directory (datasets.dataset_dir).
    langs: the languages to fit.
    tokenizer: the dataset's tokenizer (to build a missing split index).
    per_lang: training examples per language for mean pose and retrieval.
    lexicon_per_lang: training examples per language scanned for isolated
      signs (None or <= 0: all of them).
    blend_frames, choice: the lexicon's (lexicon.LexiconBaseline).
    split: the split fitted on (train; others for tests and experiments).
    progress: a progress bar over the examples read.

  Raises:
    FitError: the split has no example of a language.
  """
  source = datasets.data_source(path, split)
  index = datasets.load_index(path, split, tokenizer)
  limit = lexicon_per_lang if lexicon_per_lang and lexicon_per_lang > 0 else (
      None)
  plan = {}
  for lang in langs:
    rows = np.flatnonzero(index["lang"] == languages.lang_index(lang))
    if not len(rows):
      raise FitError(f"{path}: the {split} split has no {lang} examples to "
                     "fit the baselines on")
    plan[lang] = rows[:max(per_lang, len(rows) if limit is None else limit)]
  bar = tqdm.tqdm(total=sum(map(len, plan.values())), desc="baselines",
                  unit="ex", disable=not progress)
  out = {}
  with bar:
    for lang, rows in plan.items():
      recs = []
      for i in rows:
        recs.append(source[int(i)])
        bar.update()
      head = recs[:per_lang]
      poses = [np.asarray(r["pose"], np.float32) for r in head]
      texts = [_str(r["text"]) for r in head]
      lex, reason = None, ""
      scanned = recs if limit is None else recs[:limit]
      try:
        lex = lexicon_lib.LexiconBaseline(
            blend_frames=blend_frames, choice=choice).fit(scanned)
      except ValueError as e:
        if any(lexicon_lib.is_isolated(r) for r in scanned):
          raise FitError(f"{path} {split} {lang}: {e}") from None
        reason = (f"the {split} split has no isolated-sign {lang} examples "
                  f"(one gloss, at most one span) among {len(scanned)}")
      out[lang] = Fitted(mean=mean_pose.MeanPoseBaseline().fit(poses),
                         retrieval=retrieval.NearestNeighbourBaseline().fit(
                             texts, poses),
                         lexicon=lex, lexicon_reason=reason,
                         train_examples=len(head))
  return out
