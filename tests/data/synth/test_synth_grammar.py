"""Tests of the SynthSign concept inventory, morphology and word orders."""

import re

import numpy as np
import pytest

from signllm_jax import languages
from signllm_jax.data.synth import grammar
from signllm_jax.data.synth import morphology
from signllm_jax.data.synth import words

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_inventory_is_large_and_complete():
  assert grammar.NUM_CONCEPTS >= 200
  kinds = {c.kind for c in grammar.CONCEPTS}
  assert kinds == set(grammar.KINDS)
  for c in grammar.CONCEPTS:
    assert set(c.words) == set(words.SPOKEN)
    assert all(w.strip() for w in c.words.values()), c.name
    assert _HANGUL.search(c.words["ko"]), c.name


@pytest.mark.parametrize("lang", languages.LANG_CODES)
def test_gloss_tokens_are_unique_upper_case_words(lang):
  tokens = grammar.gloss_tokens(lang)
  assert len(set(tokens)) == len(tokens) == grammar.NUM_CONCEPTS
  for t in tokens:
    assert t and not any(ch.isspace() for ch in t)
    assert t == t.upper()
  assert grammar.concept_of_gloss(lang)[tokens[7]] == 7


def test_korean_morphology():
  assert morphology.korean_plain("먹다") == "먹는다"
  assert morphology.korean_plain("자다") == "잔다"
  assert morphology.korean_plain("팔다") == "판다"
  assert morphology.korean_plain("사랑하다") == "사랑한다"
  assert morphology.korean_question("팔다") == "파니"
  assert morphology.korean_question("먹다") == "먹니"
  assert morphology.korean_particle("빵", "을", "를") == "빵을"
  assert morphology.korean_particle("사과", "을", "를") == "사과를"
  assert morphology.korean_negative_adjective("크다") == "크지 않다"


def test_turkish_morphology():
  case = morphology.turkish_case
  assert case("kitap", "acc") == "kitabı"
  assert case("çocuk", "acc") == "çocuğu"
  assert case("çocuk", "dat") == "çocuğa"
  assert case("su", "acc") == "suyu"
  assert case("top", "acc") == "topu"  # one syllable: no voicing
  assert case("ev", "acc") == "evi"
  assert case("erkek kardeş", "acc") == "erkek kardeşi"
  assert morphology.turkish_upper("inek") == "İNEK"
  assert morphology.capitalize("ılık", "tr") == "Ilık"


def test_english_and_german_forms():
  assert morphology.english_3sg("fly") == "flies"
  assert morphology.english_3sg("play") == "plays"
  assert morphology.english_3sg("watch") == "watches"
  assert morphology.english_3sg("look for") == "looks for"
  noun = morphology.parse_noun("de", "der Mann")
  assert (noun.acc, noun.dat, noun.lemma) == ("den Mann", "dem Mann", "Mann")
  assert morphology.parse_noun("fr", "l'école:f").feminine
  assert not morphology.parse_noun("it", "l'uomo:m").feminine


def _sentence(frame, **names):
  ids = {k: grammar.CONCEPT_ID[v] for k, v in names.items()}
  return grammar.Sentence(frame, **ids)


def test_spoken_realisations():
  s = _sentence("transitive", subject="MAN", verb="EAT", obj="BREAD",
                time="TODAY")
  text = {lang: grammar.realize_text(s, lang) for lang in languages.LANG_CODES}
  assert text["ASL"] == "Today the man eats the bread."
  assert text["GSL"] == "Heute isst der Mann das Brot."  # verb second
  assert text["LSF-CH"] == "Aujourd'hui l'homme mange le pain."
  assert text["KSL"] == "오늘 남자가 빵을 먹는다."
  assert text["TSL"] == "Bugün adam ekmeği yiyor."
  helps = _sentence("transitive", subject="WOMAN", verb="HELP", obj="CHILD")
  assert grammar.realize_text(helps, "GSL") == "Die Frau hilft dem Kind."
  assert grammar.realize_text(helps, "LSA") == "La mujer ayuda al niño."
  assert grammar.realize_text(helps, "TSL") == "Kadın çocuğa yardım ediyor."
  neg = _sentence("negated", subject="HOUSE", adjective="BIG")
  assert grammar.realize_text(neg, "LSF-CH") == "La maison n'est pas grande."
  assert grammar.realize_text(neg, "KSL") == "집이 크지 않다."
  where = _sentence("where", subject="DOG")
  assert grammar.realize_text(where, "LSA") == "¿Dónde está el perro?"


def test_sign_orders_differ_from_spoken_orders():
  s = _sentence("transitive", subject="MAN", verb="EAT", obj="BREAD",
                time="TODAY")
  ids = grammar.CONCEPT_ID
  order = {lang: grammar.sign_order(s, lang) for lang in languages.LANG_CODES}
  assert order["ASL"] == (ids["TODAY"], ids["MAN"], ids["EAT"], ids["BREAD"])
  for lang in ("GSL", "DSGS", "LIS-CH", "KSL", "TSL"):
    assert order[lang][-1] == ids["EAT"], lang  # verb final
  assert order["LSF-CH"][1:] == (ids["BREAD"], ids["MAN"], ids["EAT"])
  # German speaks SVO (verb before object) but signs SOV.
  text = grammar.realize_text(s, "GSL")
  assert text.index("isst") < text.index("Brot")
  neg = _sentence("negated", subject="HOUSE", adjective="BIG")
  what = _sentence("what", subject="MAN", verb="EAT")
  for lang in languages.LANG_CODES:
    assert grammar.sign_order(neg, lang)[-1] == grammar.NOT
    assert grammar.sign_order(what, lang)[-1] == grammar.WHAT
  assert grammar.realize_text(what, "ASL") == "What does the man eat?"


def test_sampled_sentences_respect_selection():
  rng = np.random.default_rng(0)
  frames = set()
  for _ in range(2000):
    s = grammar.sample_sentence(rng)
    frames.add(s.frame)
    if s.frame == "transitive":
      obj_tags = grammar.CONCEPTS[s.verb].tags.split(">")[1]
      assert set(grammar.CONCEPTS[s.obj].tags) & set(obj_tags)
      assert s.obj != s.subject
    for lang in ("ASL", "KSL"):
      assert grammar.realize_text(s, lang)
  assert frames == set(grammar.FRAMES)
