"""Tests of the SynthSign corpus generator (the example schema)."""

import re

import numpy as np
import pytest

from signllm_jax import languages
from signllm_jax import skeleton
from signllm_jax.data import prompts
from signllm_jax.data.synth import corpus
from signllm_jax.data.synth import grammar

_KEYS = {"id", "lang", "text", "gloss", "lang_gloss", "prompt", "pose",
         "spans", "sign_ids", "signer"}
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def dev():
  return list(corpus.generate_split("tiny", "dev"))


def test_sizes():
  tiny = corpus.SIZES["tiny"]
  assert 100 <= tiny.train + tiny.dev + tiny.test <= 200
  small = sum(corpus.num_examples("small", s) for s in corpus.SPLITS)
  assert 10_000 <= small < 100_000
  large = sum(corpus.num_examples("large", s) for s in corpus.SPLITS)
  assert large >= 1_000_000 and corpus.SIZES["large"].streamed
  assert corpus.num_examples("tiny", "dev", ["ASL", "KSL"]) == 2 * tiny.dev


def test_clear_errors():
  with pytest.raises(ValueError, match="unknown corpus size"):
    corpus.num_examples("huge", "train")
  with pytest.raises(ValueError, match="unknown split"):
    next(corpus.generate_split("tiny", "validation"))
  with pytest.raises(ValueError, match="unknown sign language"):
    next(corpus.generate_split("tiny", "dev", langs=["ASL", "BSL"]))


def test_count_ids_and_language_interleaving(dev):
  assert len(dev) == corpus.num_examples("tiny", "dev")
  ids = [e["id"] for e in dev]
  assert len(set(ids)) == len(ids)
  assert ids[0] == "synth-ASL-dev-0000000"
  assert [e["lang"] for e in dev[:8]] == list(languages.LANG_CODES)


def _same(a, b):
  return all(
      np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray)
      else a[k] == b[k] for k in _KEYS) and a["pose"].tobytes() == b[
          "pose"].tobytes()


def test_deterministic_and_seeded(dev):
  again = list(corpus.generate_split("tiny", "dev"))
  assert all(_same(a, b) for a, b in zip(dev, again))
  other = [corpus.generate_example(e["lang"], "dev", k // 8, seed=1)
           for k, e in enumerate(dev[:16])]
  assert not any(a["pose"].shape == b["pose"].shape
                 and np.array_equal(a["pose"], b["pose"])
                 for a, b in zip(dev, other))
  # A language's examples do not depend on the other languages generated.
  ksl = list(corpus.generate_split("tiny", "dev", langs=["KSL"]))
  assert all(_same(a, b) for a, b in zip(
      ksl, [e for e in dev if e["lang"] == "KSL"]))


def test_schema_fields(dev):
  for e in dev:
    assert set(e) == _KEYS
    pose, spans, ids = e["pose"], e["spans"], e["sign_ids"]
    assert pose.dtype == np.float32 and pose.shape[1:] == (50, 3)
    assert spans.dtype == np.int32 and spans.shape == (len(ids), 2)
    assert ids.dtype == np.int32 and ids.ndim == 1 and len(ids) >= 1
    assert e["signer"].dtype == np.int32
    assert int(e["signer"]) in corpus.signer_ids(e["lang"])
    tokens = e["gloss"].split()
    assert len(tokens) == len(ids)
    assert tokens == [grammar.gloss_tokens(e["lang"])[i] for i in ids]
    assert all(t == t.upper() for t in tokens)
    assert e["lang_gloss"] == prompts.make_lang_gloss(e["lang"], tokens)
    assert e["text"] in e["prompt"] and e["text"].strip()


def test_pose_values_are_realistic(dev):
  for e in dev:
    pose = e["pose"]
    assert np.all(np.isfinite(pose))
    assert np.abs(pose).max() < 3.0
    body = np.ptp(pose[:, :8], axis=(0, 1)).max()
    chain = pose[:, [29, 29 + 9, 29 + 10, 29 + 11, 29 + 12]]
    hand = np.linalg.norm(np.diff(chain, axis=1), axis=-1).sum(1).mean()
    assert 5 < body / hand < 15, (e["id"], body, hand)
  # Arm bones keep their length through the whole clip (inverse kinematics).
  pose = dev[0]["pose"]
  upper = np.linalg.norm(
      pose[:, skeleton.R_ELBOW] - pose[:, skeleton.R_SHOULDER], axis=-1)
  assert upper.std() < 0.05 * upper.mean()
  # Hands move: the right wrist travels during a sign.
  assert np.ptp(pose[:, skeleton.RIGHT_HAND_ROOT], axis=0).max() > 0.3


def test_spans_and_frame_counts(dev):
  for e in dev:
    t, spans = len(e["pose"]), e["spans"]
    assert 0 <= spans[0, 0] and spans[-1, 1] <= t
    assert np.all(spans[:, 1] > spans[:, 0])
    np.testing.assert_array_equal(spans[1:, 0], spans[:-1, 1])  # contiguous
    if len(spans) == 1:
      assert 15 <= t <= 60, e["id"]
    else:
      assert 40 <= t <= 200, e["id"]
      assert spans[-1, 1] - spans[0, 0] > 0.45 * t, e["id"]


def test_isolated_and_sentence_examples_in_every_language(dev):
  for lang in languages.LANG_CODES:
    n_signs = [len(e["sign_ids"]) for e in dev if e["lang"] == lang]
    iso = sum(n == 1 for n in n_signs)
    assert 0 < iso < len(n_signs), lang
  iso_all = np.mean([len(e["sign_ids"]) == 1 for e in dev])
  assert abs(iso_all - corpus.SIZES["tiny"].isolated_fraction) < 0.12
  isolated = next(e for e in dev if len(e["sign_ids"]) == 1)
  assert isolated["text"] == grammar.citation_text(
      int(isolated["sign_ids"][0]), isolated["lang"])


def test_unicode_text(dev):
  text = {lang: " ".join(e["text"] for e in dev if e["lang"] == lang)
          for lang in languages.LANG_CODES}
  assert _HANGUL.search(text["KSL"])
  assert _HANGUL.search(" ".join(e["gloss"] for e in dev
                                 if e["lang"] == "KSL"))
  for lang in ("GSL", "LSF-CH", "LIS-CH", "LSA", "TSL"):
    assert not text[lang].isascii(), lang
  assert text["ASL"].isascii()


def test_verb_final_languages_sign_the_verb_last(dev):
  kinds = [c.kind for c in grammar.CONCEPTS]
  seen = 0
  for e in dev:
    ids = list(e["sign_ids"])
    roles = [kinds[i] for i in ids]
    if "transitive" in roles and len(ids) >= 3 and grammar.WHAT not in ids:
      v = roles.index("transitive")
      if e["lang"] in ("GSL", "DSGS", "LIS-CH", "KSL", "TSL", "LSF-CH"):
        assert v == len(ids) - 1, e["gloss"]
        seen += 1
      elif e["lang"] in ("ASL", "LSA"):
        assert v == len(ids) - 2, e["gloss"]
  assert seen > 5


def test_held_out_sentence_combinations():
  rng = np.random.default_rng(0)
  concepts = {s: set() for s in corpus.SPLITS}
  keys = {s: set() for s in corpus.SPLITS}
  for _ in range(20000):
    sentence = grammar.sample_sentence(rng)
    split = corpus.sentence_split(sentence)
    keys[split].add(sentence.key())
    concepts[split] |= set(grammar.sign_order(sentence, "ASL"))
  assert not keys["train"] & (keys["dev"] | keys["test"])
  assert not keys["dev"] & keys["test"]
  assert len(keys["dev"]) > 0.02 * len(keys["train"])
  # Every concept can occur in train.
  assert concepts["train"] == set(range(grammar.NUM_CONCEPTS))


def test_generated_dev_and_test_sentences_never_occur_in_train():
  lang = "ASL"
  size = corpus.SIZES["tiny"]
  def sentences(split, n):
    out = set()
    for k in range(n):
      e = corpus.generate_example(lang, split, k)
      if len(e["sign_ids"]) > 1:
        out.add(e["text"])
    return out
  train = sentences("train", 400)
  held = sentences("dev", size.dev) | sentences("test", size.test)
  assert held and not train & held
