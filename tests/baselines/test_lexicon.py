"""Tests for signllm_jax.baselines.lexicon (SynthSign examples, no TFDS)."""

import numpy as np
import pytest

from signllm_jax.baselines import lexicon
from signllm_jax.data.synth import corpus
from signllm_jax.data.synth import recognizer

LANG = "ASL"
# Enough train examples for ~90% of the concepts to have an isolated clip
# (30% isolated, 207 concepts), still a few seconds to generate.
TRAIN = 1500


@pytest.fixture(scope="module")
def train():
  return [corpus.generate_example(LANG, "train", k) for k in range(TRAIN)]


@pytest.fixture(scope="module")
def fitted(train):
  return lexicon.LexiconBaseline().fit(train)


def _pose(t, value):
  return np.full((t, 50, 3), value, np.float32)


def _iso(gloss, text, pose, spans=None, lang=LANG):
  ex = {"id": gloss, "lang": lang, "gloss": gloss, "text": text,
        "pose": pose, "sign_ids": np.zeros(1, np.int32)}
  if spans is not None:
    ex["spans"] = np.asarray(spans, np.int32)
  return ex


def test_ground_truth_glosses_score_near_ground_truth(fitted):
  # Test sentences whose signs all have an isolated training clip.
  tested = 0
  lex_acc, gt_acc = [], []
  for k in range(60):
    ex = corpus.generate_example(LANG, "test", k)
    if len(ex["sign_ids"]) < 2:
      continue
    try:
      pose, rep = fitted.predict_glosses(ex["lang_gloss"])
    except lexicon.UnknownInputError:
      continue
    if rep.skipped:
      continue
    tested += 1
    assert rep.used == ex["gloss"].split()
    gt_acc.append(recognizer.example_accuracy(ex))
    # The signs where the lexicon says it put them ...
    lex_acc.append(np.mean(recognizer.recognize(pose, LANG, rep.spans)
                           == ex["sign_ids"]))
  assert tested >= 15
  assert np.mean(gt_acc) == 1.0
  assert np.mean(lex_acc) >= 0.95


def test_a_sign_is_recognised_where_the_report_puts_it(fitted):
  glosses = list(fitted.clips)[:6]
  pose, rep = fitted.predict_glosses(glosses)
  assert rep.used == glosses and not rep.skipped
  spans = rep.spans
  assert spans.shape == (6, 2) and (spans[1:, 0] == spans[:-1, 1]).all()
  assert 0 < spans[0, 0] and spans[-1, 1] < len(pose)  # rest at both ends
  from signllm_jax.data.synth import lexicon as synth_lexicon
  lex = synth_lexicon.build()
  want = [lex.concept_of_gloss(LANG, g) for g in glosses]
  assert (recognizer.recognize(pose, LANG, spans) == want).mean() >= 5 / 6


def test_unknown_glosses_are_skipped_and_reported(fitted):
  known = list(fitted.clips)[:2]
  pose, rep = fitted.predict_glosses(
      f"{LANG} {known[0]} {LANG} NO-SUCH-SIGN {LANG} {known[1]}")
  assert rep.used == known and rep.skipped == ["NO-SUCH-SIGN"]
  assert "skipped 1 unknown: NO-SUCH-SIGN" in rep.summary()
  alone, _ = fitted.predict_glosses(known)
  np.testing.assert_array_equal(pose, alone)  # the unknown adds nothing
  with pytest.raises(lexicon.UnknownInputError, match="none of the 2"):
    fitted.predict_glosses("FOO BAR")
  with pytest.raises(ValueError):  # a ValueError subclass
    fitted.predict_glosses([])


def test_text_lookup_nfc_lowercase_phrases_and_unknown_words():
  rng = np.random.default_rng(0)
  clip = lambda: rng.normal(size=(12, 50, 3)).astype(np.float32)
  lex = lexicon.LexiconBaseline().fit([
      _iso("CAFE", "Caf\u00e9", clip(), [[2, 10]]),  # composed é
      _iso("POLICE-OFFICER", "police officer", clip(), [[2, 10]]),
      _iso("POLICE", "police", clip(), [[2, 10]]),
      {"lang": LANG, "gloss": "A B", "text": "a b", "pose": clip()},
  ])
  assert set(lex.clips) == {"CAFE", "POLICE-OFFICER", "POLICE"}  # no "A B"
  # Decomposed e + combining acute, upper case: still the citation form.
  glosses, unknown = lex.glosses_of_text("The CAFE\u0301 police officer, "
                                         "police!")
  assert glosses == ["CAFE", "POLICE-OFFICER", "POLICE"]
  assert unknown == ["the"]
  _, rep = lex.predict_text("the police officer runs")
  assert rep.used == ["POLICE-OFFICER"] and rep.skipped == ["the", "runs"]
  with pytest.raises(lexicon.UnknownInputError, match="unknown: nothing"):
    lex.predict_text("nothing here")


def test_blend_length_rule():
  # Clips of 20, 30 and 16 frames, each with its sign in [5, len - 5).
  poses = [_pose(20, 0.0), _pose(30, 1.0), _pose(16, 2.0)]
  exs = [_iso(g, g.lower(), p, [[5, len(p) - 5]])
         for g, p in zip("ABC", poses)]
  for blend in (0, 3, 5):  # <= half of the shortest piece (11)
    lex = lexicon.LexiconBaseline(blend_frames=blend).fit(exs)
    pose, rep = lex.predict_glosses("A B C")
    # First clip keeps its lead-in, last its lead-out, the middle one is
    # cut to its sign: 15 + 20 + 11 frames, minus one blend per join.
    pieces = [15, 20, 11]
    assert lexicon.joined_length(pieces, blend) == sum(pieces) - 2 * blend
    assert len(pose) == sum(pieces) - 2 * blend
    assert rep.spans[0, 0] == 5 and rep.spans[-1, 1] == len(pose) - 5
    if blend:
      # The first join fades 0 -> 1 linearly over `blend` frames.
      fade = pose[15 - blend:15, 0, 0]
      np.testing.assert_allclose(fade, np.arange(1, blend + 1) / (blend + 1),
                                 rtol=1e-6)
  # A blend never eats more than half a piece.
  assert lexicon.blend_lengths([4, 30, 3], 6) == [2, 1]
  assert lexicon.joined_length([4, 30, 3], 6) == 34


def test_rest_trim_without_spans():
  # Still at rest for 6 frames, moving 10, still 4: the sign is found.
  pose = _pose(20, 0.0)
  pose[6:16, 29:] += np.arange(1, 11, dtype=np.float32)[:, None, None]
  pose[16:] = pose[15]
  assert lexicon.sign_range(pose) == (5, 16)
  assert lexicon.sign_range(pose, [[3, 12]]) == (3, 12)  # a span wins
  assert lexicon.sign_range(_pose(8, 1.0)) == (0, 8)  # no motion: all


def test_clip_choice_mean_signer_and_medoid():
  body = lambda x: np.full((10, 50, 3), x, np.float32)
  exs = [_iso("A", "a", body(v), [[2, 8]]) for v in (0.0, 1.0, 4.0, 4.2, 9.0)]
  exs.append(_iso("B", "b", body(-10.0), [[2, 8]]))
  # The mean body of all six clips is 1.37: A's nearest clip is 1.0.
  lex = lexicon.LexiconBaseline(choice="mean_signer").fit(exs)
  assert lex.clips["A"].pose_TxJx3[0, 0, 0] == pytest.approx(1.0)
  assert lex.clips["A"].candidates == 5
  # The medoid of A's clips is their median, 4.0.
  lex = lexicon.LexiconBaseline(choice="medoid").fit(exs)
  assert lex.clips["A"].pose_TxJx3[0, 0, 0] == pytest.approx(4.0)


def test_fit_errors():
  with pytest.raises(ValueError, match="no isolated-sign examples"):
    lexicon.LexiconBaseline().fit([{"lang": LANG, "gloss": "A B",
                                    "text": "", "pose": _pose(5, 0)}])
  with pytest.raises(ValueError, match="one language"):
    lexicon.LexiconBaseline().fit([_iso("A", "a", _pose(5, 0)),
                                   _iso("B", "b", _pose(5, 0), lang="GSL")])
  with pytest.raises(ValueError, match=r"example 0 \(A\).*pose must be"):
    lexicon.LexiconBaseline().fit([_iso("A", "a", np.zeros((5, 49, 3)))])
  with pytest.raises(ValueError, match="choice"):
    lexicon.LexiconBaseline(choice="best")
  with pytest.raises(ValueError, match="before fit"):
    lexicon.LexiconBaseline().predict_glosses("A")


def test_parse_glosses():
  assert lexicon.parse_glosses("ASL A ASL B") == ["A", "B"]
  assert lexicon.parse_glosses("A B") == ["A", "B"]
  assert lexicon.parse_glosses(["A", "B C"]) == ["A", "B", "C"]
