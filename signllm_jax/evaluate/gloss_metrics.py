"""Stage-1 (prompt -> LangGloss) metrics on strings (pure Python).

A predicted LangGloss may be malformed (an odd word count, a tag where a
gloss belongs): the metrics never raise on a prediction. They read it as
words and split it into tags (words that are sign-language codes) and
glosses (the other words), so a dropped tag costs tag accuracy, not the
gloss WER.

- exact: the predicted string equals the reference (whitespace-normalised).
- gloss WER: word-level Levenshtein distance between the gloss sequences
  (tags removed) / reference gloss count, summed over examples before
  dividing (corpus WER, as jiwer and sclite report it).
- tag accuracy: an example's tags are right when it has at least one tag
  and every tag is the reference language's (% of examples).
"""

import dataclasses
from typing import Sequence

from signllm_jax import languages


def split_tags(lang_gloss: str) -> tuple[list[str], list[str]]:
  """"ASL A ASL B" -> (["ASL", "ASL"], ["A", "B"]); never raises."""
  tags, glosses = [], []
  for word in lang_gloss.split():
    (tags if word in languages.BY_CODE else glosses).append(word)
  return tags, glosses


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
  """Word-level Levenshtein distance (substitution = deletion = insertion
  = 1)."""
  prev = list(range(len(hyp) + 1))
  for i, r in enumerate(ref, 1):
    cur = [i] + [0] * len(hyp)
    for j, h in enumerate(hyp, 1):
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
    prev = cur
  return prev[-1]


@dataclasses.dataclass(frozen=True)
class Scores:
  """Corpus-level stage-1 scores (percentages) over `examples`."""
  examples: int
  exact: float
  gloss_wer: float
  tag_accuracy: float

  def as_dict(self) -> dict[str, float]:
    return dataclasses.asdict(self)


def tags_right(hyp: str, lang: str) -> bool:
  tags, _ = split_tags(hyp)
  return bool(tags) and all(t == lang for t in tags)


def score(refs: Sequence[str], hyps: Sequence[str],
          langs: Sequence[str]) -> Scores:
  """Scores of predictions `hyps` against references `refs`.

  Raises:
    ValueError: the three sequences differ in length or are empty, or a
      reference has no gloss.
  """
  if not (len(refs) == len(hyps) == len(langs)):
    raise ValueError(f"{len(refs)} references, {len(hyps)} predictions and "
                     f"{len(langs)} languages: they must align")
  if not refs:
    raise ValueError("no examples to score")
  errors = words = exact = tags_ok = 0
  for i, (ref, hyp, lang) in enumerate(zip(refs, hyps, langs)):
    _, ref_glosses = split_tags(ref)
    if not ref_glosses:
      raise ValueError(f"reference {i} ({ref!r}) has no gloss")
    _, hyp_glosses = split_tags(hyp)
    errors += edit_distance(ref_glosses, hyp_glosses)
    words += len(ref_glosses)
    exact += " ".join(ref.split()) == " ".join(hyp.split())
    tags_ok += tags_right(hyp, lang)
  n = len(refs)
  return Scores(examples=n, exact=100.0 * exact / n,
                gloss_wer=100.0 * errors / words,
                tag_accuracy=100.0 * tags_ok / n)
