"""Stage-1 metrics on hand-made cases whose values are known."""

import pytest

from signllm_jax.evaluate import gloss_metrics


def test_edit_distance_known_cases():
  d = gloss_metrics.edit_distance
  assert d([], []) == 0
  assert d(["A", "B", "C"], ["A", "B", "C"]) == 0
  assert d(["A", "B", "C"], ["A", "C"]) == 1          # deletion
  assert d(["A", "B"], ["A", "X", "B"]) == 1          # insertion
  assert d(["A", "B", "C"], ["C", "B", "A"]) == 2     # two substitutions
  assert d(["A", "B"], []) == 2
  assert d([], ["A"]) == 1


def test_split_tags_tolerates_malformed_predictions():
  assert gloss_metrics.split_tags("ASL MAN ASL EAT") == (
      ["ASL", "ASL"], ["MAN", "EAT"])
  assert gloss_metrics.split_tags("ASL MAN EAT GSL") == (
      ["ASL", "GSL"], ["MAN", "EAT"])
  assert gloss_metrics.split_tags("") == ([], [])


def test_scores_known_corpus():
  refs = ["ASL MAN ASL EAT ASL BREAD", "GSL MANN GSL ESSEN",
          "KSL 남자 KSL 먹다"]
  hyps = ["ASL MAN ASL EAT ASL BREAD",   # exact
          "DSGS MANN DSGS ESSEN",        # glosses right, tags wrong
          "KSL 남자 KSL 빵 KSL 먹다"]      # one inserted gloss
  s = gloss_metrics.score(refs, hyps, ["ASL", "GSL", "KSL"])
  assert s.examples == 3
  assert s.exact == pytest.approx(100 / 3)
  assert s.gloss_wer == pytest.approx(100 * 1 / 7)   # 1 error, 7 ref glosses
  assert s.tag_accuracy == pytest.approx(200 / 3)
  # An empty prediction: every reference gloss deleted, no tag.
  s = gloss_metrics.score(["ASL A ASL B"], [""], ["ASL"])
  assert (s.exact, s.gloss_wer, s.tag_accuracy) == (0.0, 100.0, 0.0)
  # Whitespace does not matter for exact match.
  assert gloss_metrics.score(["ASL A"], [" ASL  A "], ["ASL"]).exact == 100.0


def test_scores_reject_misaligned_or_empty_input():
  with pytest.raises(ValueError, match="align"):
    gloss_metrics.score(["ASL A"], [], ["ASL"])
  with pytest.raises(ValueError, match="no examples"):
    gloss_metrics.score([], [], [])
  with pytest.raises(ValueError, match="no gloss"):
    gloss_metrics.score(["ASL"], ["ASL A"], ["ASL"])
