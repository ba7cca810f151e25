"""Tests for signllm_jax.evaluate.text_metrics."""

import pytest

from signllm_jax.evaluate import text_metrics


def test_bleu_hand_checkable():
  # 5/6 unigrams and 3/5 bigrams match; same length so no brevity penalty.
  scores = text_metrics.bleu_scores(["the cat sat on a mat"],
                                    ["the cat sat on the mat"])
  assert scores["bleu1"] == pytest.approx(100 * 5 / 6)
  assert scores["bleu2"] == pytest.approx(100 * (5 / 6 * 3 / 5) ** 0.5)
  assert scores["bleu1"] > scores["bleu2"] > scores["bleu3"] > scores["bleu4"]


def test_bleu_identical_and_disjoint():
  same = text_metrics.bleu_scores(["a b c d e"], ["a b c d e"])
  assert all(v == pytest.approx(100.0) for v in same.values())
  none = text_metrics.bleu_scores(["x y z w"], ["a b c d"])
  assert none["bleu1"] == 0.0


def test_bleu_is_corpus_level():
  # Corpus BLEU pools n-gram counts: 4 of 6 unigrams match overall.
  scores = text_metrics.bleu_scores(["a b c", "d e f"], ["a b c", "x y f"])
  assert scores["bleu1"] == pytest.approx(100 * 4 / 6)


def test_tokenizer_choice():
  assert text_metrics.bleu_tokenizer("ASL") == "13a"
  assert text_metrics.bleu_tokenizer("GSL") == "13a"
  assert text_metrics.bleu_tokenizer("KSL") == "intl"
  assert text_metrics.bleu_tokenizer("ko") == "intl"


def test_korean_scores_on_identical_strings():
  scores = text_metrics.text_scores(["안녕하세요 만나서 반갑습니다 감사합니다"],
                                    ["안녕하세요 만나서 반갑습니다 감사합니다"],
                                    lang="KSL")
  assert scores["bleu4"] == pytest.approx(100.0)
  assert scores["rouge"] == pytest.approx(100.0)
  assert scores["bleu_tokenizer"] == "intl"


def test_rouge_is_unicode_aware():
  assert text_metrics.rouge_l(["größe"], ["grüße"]) == 0.0
  assert text_metrics.rouge_l(["Größe"], ["größe"]) == pytest.approx(100.0)
  # NFC: a decomposed umlaut equals the composed one.
  assert text_metrics.rouge_l(["gro\u0308ße"], ["größe"]) == pytest.approx(
      100.0)


def test_rouge_hand_checkable():
  # LCS("a b c d", "a c d e") = 3; P = R = 3/4; F = 0.75.
  assert text_metrics.rouge_l(["a c d e"], ["a b c d"]) == pytest.approx(75.0)
  # Averaged over sentences: (100 + 0) / 2.
  assert text_metrics.rouge_l(["a", "b"], ["a", "c"]) == pytest.approx(50.0)


def test_tokenizer_splits_unicode_words():
  tok = text_metrics.UnicodeWordTokenizer()
  assert tok.tokenize("Über-Größe, 안녕!") == ["über", "größe", "안녕"]


def test_bad_input():
  with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
    text_metrics.bleu_scores(["a", "b"], ["a"])
  with pytest.raises(ValueError, match="pair 0"):
    text_metrics.rouge_l([None], ["a"])
