"""Tests of the question templates and LangGloss strings."""

import re

import numpy as np
import pytest

from signllm_jax import languages
from signllm_jax.data import prompts

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_every_language_has_enough_one_slot_templates():
  assert tuple(prompts.TEMPLATES) == languages.LANG_CODES
  for lang, templates in prompts.TEMPLATES.items():
    assert len(templates) >= 20, lang
    assert len(set(templates)) == len(templates), lang
    for t in templates:
      assert t.count("{}") == 1 and "{" not in t.replace("{}", ""), (lang, t)


def test_templates_are_in_the_paired_spoken_language():
  assert all(_HANGUL.search(t) for t in prompts.TEMPLATES["KSL"])
  assert all(t.isascii() for t in prompts.TEMPLATES["ASL"])
  assert any("ñ" in t for t in prompts.TEMPLATES["LSA"])
  assert any("ş" in t or "ı" in t for t in prompts.TEMPLATES["TSL"])
  assert any("ä" in t or "ü" in t for t in prompts.TEMPLATES["GSL"])
  assert not any("ß" in t for t in prompts.TEMPLATES["DSGS"])  # Swiss


@pytest.mark.real_data
def test_templates_are_our_own_wording(sample_data_dir):
  folder = sample_data_dir / "how2sign_openpose" / "prompts"
  for lang, templates in prompts.TEMPLATES.items():
    theirs = {l.strip() for l in (folder / f"prompts_{lang}.txt").read_text(
        encoding="utf-8").splitlines()}
    assert not set(templates) & theirs, lang


def test_make_prompt_wraps_the_text_deterministically():
  text = "Der Mann isst das Brot."
  a = prompts.make_prompt(text, "GSL", np.random.default_rng(3))
  b = prompts.make_prompt(text, "GSL", np.random.default_rng(3))
  assert a == b and text in a
  assert prompts.make_prompt(text, "GSL", np.random.default_rng(3),
                             named=False) in {
      t.format(text) for t in prompts.templates_for("GSL", "train")}
  seen = {prompts.make_prompt(text, "GSL", np.random.default_rng(s))
          for s in range(40)}
  assert len(seen) > 5
  with pytest.raises(ValueError, match="unknown sign language"):
    prompts.make_prompt(text, "XSL", np.random.default_rng(0))


def test_lang_gloss_round_trip():
  s = prompts.make_lang_gloss("LSF-CH", ["POMME-DE-TERRE", "MANGER"])
  assert s == "LSF-CH POMME-DE-TERRE LSF-CH MANGER"
  assert prompts.parse_lang_gloss(s) == [("LSF-CH", "POMME-DE-TERRE"),
                                         ("LSF-CH", "MANGER")]
  assert prompts.parse_lang_gloss("KSL 남자 GSL MANN") == [
      ("KSL", "남자"), ("GSL", "MANN")]
  assert prompts.make_lang_gloss("ASL", []) == ""
  assert prompts.parse_lang_gloss("") == []


@pytest.mark.parametrize("bad,match", [
    ("ASL MAN ASL", "odd number"),
    ("MAN ASL EAT ASL", "not a language tag"),
    ("ASL GSL", "language tag where a token"),
])
def test_parse_lang_gloss_rejects_malformed_input(bad, match):
  with pytest.raises(ValueError, match=match):
    prompts.parse_lang_gloss(bad)


def test_make_lang_gloss_validates():
  with pytest.raises(ValueError, match="unknown sign language"):
    prompts.make_lang_gloss("XSL", ["A"])
  with pytest.raises(ValueError, match="whitespace"):
    prompts.make_lang_gloss("ASL", ["TWO WORDS"])
  with pytest.raises(TypeError):
    prompts.make_lang_gloss("ASL", "MAN")


def test_no_test_template_appears_in_training():
  for lang, templates in prompts.TEMPLATES.items():
    train = set(prompts.templates_for(lang, "train"))
    test = set(prompts.templates_for(lang, "test"))
    assert set(prompts.templates_for(lang, "dev")) == test
    assert train and test and not train & test, lang
    assert train | test == set(templates), lang
  # The prompts themselves: every test prompt's template is held out.
  text = "Der Mann isst das Brot."
  train_prompts = {prompts.make_prompt(text, "DSGS", np.random.default_rng(s),
                                       named=False) for s in range(200)}
  test_prompts = {prompts.make_prompt(text, "DSGS", np.random.default_rng(s),
                                      split="test", named=False)
                  for s in range(200)}
  assert not train_prompts & test_prompts
  assert test_prompts == {t.format(text)
                          for t in prompts.templates_for("DSGS", "test")}
  with pytest.raises(ValueError, match="unknown split"):
    prompts.templates_for("ASL", "validation")


def test_half_of_the_prompts_name_their_sign_language():
  rng = np.random.default_rng(0)
  named = [prompts.names_language(prompts.make_prompt("x", lang, rng), lang)
           for _ in range(400) for lang in ("ASL", "GSL", "DSGS", "LSA")]
  assert 0.45 < np.mean(named) < 0.55
  for lang in prompts.TEMPLATES:
    p = prompts.make_prompt("x", lang, np.random.default_rng(1), named=True)
    assert prompts.names_language(p, lang), p
    # Unnamed: the bare template (a few templates name the language
    # themselves, e.g. "한국수어로 ...").
    p = prompts.make_prompt("x", lang, np.random.default_rng(1), named=False)
    assert p in {t.format("x") for t in prompts.TEMPLATES[lang]}, p
  # GSL and DSGS share a spoken language: their names tell them apart.
  p = prompts.make_prompt("x", "DSGS", np.random.default_rng(2), named=True)
  assert not prompts.names_language(p, "GSL")
