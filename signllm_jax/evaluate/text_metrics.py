"""Back-translation text metrics: corpus BLEU-1..4 (sacrebleu) and ROUGE-L.

BLEU-n is sacrebleu's corpus BLEU with `max_ngram_order=n`: the brevity
penalty times the geometric mean of the 1..n-gram precisions (uniform
weights), exponential smoothing (sacrebleu's default), on a 0-100 scale.

Tokenizers (all offline, chosen per spoken language by `bleu_tokenizer`):
  - "13a" (sacrebleu's default, mteval-v13a) for the Latin-script languages
    (English, German, French, Italian, Spanish, Turkish);
  - "intl" (mteval-v14 international: Unicode-aware punctuation and symbol
    splitting, words split on white space) for Korean: it needs no MeCab, and
    Korean words (eojeol) stay whole, as in white-space-tokenised Korean BLEU.
  The tokenizer used is returned beside the scores so a report can state it.

ROUGE-L is rouge-score's sentence-level ROUGE-L F1 averaged over sentences
(x 100), with `UnicodeWordTokenizer`: rouge-score's default tokenizer keeps
only [a-z0-9], so "größe" == "grüße" and Korean scores 0. Ours NFC-normalises,
lower-cases and keeps Unicode word characters (`\\w+`); no stemming.
"""

import re
import unicodedata
from typing import Sequence

import sacrebleu
from rouge_score import rouge_scorer

from signllm_jax import languages

# Spoken languages whose BLEU uses "intl" rather than "13a".
_INTL_SPOKEN = ("ko", "kor", "korean")


class UnicodeWordTokenizer:
  """rouge-score tokenizer: NFC, lower-case, Unicode word-character runs."""

  _WORD = re.compile(r"\w+", re.UNICODE)

  def tokenize(self, text: str) -> list[str]:
    return self._WORD.findall(unicodedata.normalize("NFC", text).lower())


def bleu_tokenizer(lang: str) -> str:
  """The sacrebleu tokenizer for a sign language code or an ISO 639-1 code."""
  spoken = languages.BY_CODE[lang].spoken if lang in languages.BY_CODE else lang
  return "intl" if spoken.lower() in _INTL_SPOKEN else "13a"


def _check_pairs(hypotheses: Sequence[str], references: Sequence[str]):
  if len(hypotheses) != len(references):
    raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} "
                     "references")
  for i, (h, r) in enumerate(zip(hypotheses, references)):
    if not isinstance(h, str) or not isinstance(r, str):
      raise ValueError(f"pair {i}: hypothesis and reference must be str, got "
                       f"{type(h).__name__} and {type(r).__name__}")


def bleu_scores(hypotheses: Sequence[str], references: Sequence[str], *,
                tokenize: str = "13a", lowercase: bool = False,
                ) -> dict[str, float]:
  """Corpus BLEU-1..4 (0-100), keys "bleu1".."bleu4".

  Args:
    hypotheses: back-translated sentences, one per example.
    references: the source sentences, aligned with `hypotheses`.
    tokenize: a sacrebleu tokenizer name (see `bleu_tokenizer`).
    lowercase: case-insensitive BLEU.
  """
  _check_pairs(hypotheses, references)
  if not hypotheses:
    raise ValueError("BLEU needs at least one sentence pair")
  out = {}
  for n in range(1, 5):
    metric = sacrebleu.BLEU(max_ngram_order=n, tokenize=tokenize,
                            lowercase=lowercase)
    out[f"bleu{n}"] = float(
        metric.corpus_score(list(hypotheses), [list(references)]).score)
  return out


def rouge_l(hypotheses: Sequence[str], references: Sequence[str]) -> float:
  """Mean sentence-level ROUGE-L F1 (0-100) with a Unicode tokenizer."""
  _check_pairs(hypotheses, references)
  if not hypotheses:
    raise ValueError("ROUGE needs at least one sentence pair")
  scorer = rouge_scorer.RougeScorer(["rougeL"],
                                    tokenizer=UnicodeWordTokenizer())
  total = 0.0
  for h, r in zip(hypotheses, references):
    total += scorer.score(r, h)["rougeL"].fmeasure
  return 100.0 * total / len(hypotheses)


def text_scores(hypotheses: Sequence[str], references: Sequence[str], *,
                lang: str | None = None, tokenize: str | None = None,
                ) -> dict[str, float | str]:
  """BLEU-1..4, ROUGE-L and the tokenizer used, for one language's corpus."""
  if tokenize is None:
    tokenize = bleu_tokenizer(lang) if lang else "13a"
  scores: dict[str, float | str] = dict(
      bleu_scores(hypotheses, references, tokenize=tokenize))
  scores["rouge"] = rouge_l(hypotheses, references)
  scores["bleu_tokenizer"] = tokenize
  return scores
