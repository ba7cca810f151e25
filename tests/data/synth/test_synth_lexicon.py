"""Tests of the SynthSign lexicon and hand geometry."""

import itertools

import numpy as np
import pytest

from signllm_jax import languages
from signllm_jax import skeleton
from signllm_jax.data.synth import lexicon as lexicon_lib
from signllm_jax.data.synth import motion


@pytest.fixture(scope="module")
def lex():
  return lexicon_lib.build(0)


def test_deterministic_from_seed(lex):
  again = lexicon_lib.Lexicon(0)
  assert again.signs == lex.signs
  other = lexicon_lib.Lexicon(1)
  assert other.signs["ASL"] != lex.signs["ASL"]


def test_forms_are_unique_within_a_language(lex):
  for lang in languages.LANG_CODES:
    forms = [s.form() for s in lex.signs[lang]]
    assert len(set(forms)) == len(forms) == lex.num_concepts, lang


def test_related_languages_share_a_known_fraction(lex):
  tol = 1.0 / lex.num_concepts
  for a, b in itertools.combinations(("DSGS", "LSF-CH", "LIS-CH"), 2):
    assert abs(lex.shared_with(a, b) - lexicon_lib.SHARED_FRACTION) <= tol
  for a, b in (("ASL", "KSL"), ("GSL", "TSL"), ("ASL", "DSGS"),
               ("LSA", "LIS-CH")):
    assert lex.shared_with(a, b) < 0.02, (a, b)
  assert lex.shared_with("ASL", "ASL") == 1.0
  # The shared concepts are exactly those with one sign in the family.
  for cid in range(lex.num_concepts):
    same = lex.sign("DSGS", cid) == lex.sign("LIS-CH", cid)
    assert same == (cid in lex.shared_concepts)


def test_sign_and_words(lex):
  sign = lex.sign("KSL", 0)
  assert isinstance(sign, lexicon_lib.SignParams)
  assert 12 <= sign.duration <= 26
  assert lex.word("KSL", 0) == "남자" and lex.word("GSL", 0) == "Mann"
  assert lex.concept_of_gloss("GSL", lex.gloss("GSL", 5)) == 5
  assert lex.concepts[0].words["tr"] == "adam"
  with pytest.raises(ValueError, match="unknown sign language"):
    lex.sign("BSL", 0)
  with pytest.raises(ValueError, match="out of range"):
    lex.sign("ASL", lex.num_concepts)
  with pytest.raises(ValueError, match="not a GSL gloss"):
    lex.concept_of_gloss("GSL", "NOPE")


def test_handshapes_are_real_hand_geometry():
  local = motion.HAND_LOCAL
  assert local.shape == (len(motion.HANDSHAPES), 21, 3)
  assert np.all(np.isfinite(local))
  # Flexion bends joints but keeps every bone length.
  bones = np.array(skeleton.HAND_BONES)
  lengths = np.linalg.norm(local[:, bones[:, 1]] - local[:, bones[:, 0]],
                           axis=-1)
  np.testing.assert_allclose(lengths, lengths[:1].repeat(len(local), 0),
                             atol=1e-9)
  names = motion.HANDSHAPE_NAMES
  tips = [8, 12, 16, 20]
  reach = np.linalg.norm(local[:, tips], axis=-1).mean(-1)
  assert reach[names.index("A")] < 0.6 * reach[names.index("B")]
  spread = lambda h: np.linalg.norm(local[h, 8] - local[h, 20])  # noqa: E731
  assert spread(names.index("5")) > 1.3 * spread(names.index("B"))
  # Fingers curl towards the palm side (+z).
  assert local[names.index("A"), 8, 2] > 0.1


def test_tracks_cover_two_handed_signs(lex):
  hands = {motion.HANDS[s.hands] for s in lex.signs["ASL"]}
  assert hands == set(motion.HANDS)
  sign = next(s for s in lex.signs["ASL"]
              if motion.HANDS[s.hands] == "symmetric")
  track = motion.sign_track(sign)
  assert track.shape == (motion.TRACK_SAMPLES, motion.TRACK_DIM)
  np.testing.assert_array_equal(track[:, :motion.HAND_DIM],
                                track[:, motion.HAND_DIM:])
