"""Tests for signllm_jax.baselines.fit and the lexicon row of evaluate/
systems.py, on a tiny SynthSign build."""

import numpy as np
import pytest

from signllm_jax.baselines import fit as fit_lib
from signllm_jax.baselines import lexicon as lexicon_lib
from signllm_jax.data import datasets
from signllm_jax.data import normalize
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import report as report_lib
from signllm_jax.evaluate import systems
from tests import trained

LANGS = ["ASL", "GSL"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  path = datasets.dataset_dir("synth_sign", "tiny",
                              trained.tiny_data_dir(tmp_path_factory))
  return path, datasets.load_tokenizer(path=path)


@pytest.fixture(scope="module")
def fitted(dataset):
  path, tok = dataset
  return fit_lib.fit(path, LANGS, tok, per_lang=50, progress=False)


def _train(path, lang):
  src = datasets.data_source(path, "train")
  return [src[i] for i in range(len(src)) if src[i]["lang"] == lang.encode()]


def test_fit_per_language(dataset, fitted):
  path, _ = dataset
  assert list(fitted) == LANGS
  for lang, f in fitted.items():
    train = _train(path, lang)
    isolated = {r["gloss"].decode() for r in train
                if lexicon_lib.is_isolated(r)}
    assert f.train_examples == 50 and len(f.retrieval.train_texts) == 50
    assert f.mean.mean_frame_Jx3.shape == (50, 3)
    # The lexicon read the whole train split, not only the first 50.
    assert f.lexicon.lang == lang and set(f.lexicon.clips) == isolated
    assert f.lexicon_reason == ""


def test_no_isolated_signs_gives_no_lexicon_and_says_why(dataset,
                                                         monkeypatch):
  path, tok = dataset
  monkeypatch.setattr(lexicon_lib, "is_isolated", lambda ex: False)
  f = fit_lib.fit(path, ["ASL"], tok, per_lang=10, progress=False)["ASL"]
  assert f.lexicon is None
  assert "no isolated-sign ASL examples" in f.lexicon_reason
  assert systems.lexicon_missing({"ASL": f}).startswith("ASL: the train")


def _examples(path, n=6):
  src = datasets.data_source(path, "test")
  out = []
  for i in range(len(src)):
    r = src[i]
    lang = r["lang"].decode()
    if lang in LANGS and sum(e.lang == lang for e in out) < n:
      out.append(context_lib.Example(
          idx=i, lang=lang, text=r["text"].decode(), ref_TxJx3=r["pose"],
          pred_TxJx3=r["pose"], oracle_TxJx3=r["pose"],
          sign_ids=r["sign_ids"], spans=r["spans"],
          lang_gloss_ref=r["lang_gloss"].decode()))
  return out


def test_system_poses_has_a_lexicon_row(dataset, fitted):
  path, _ = dataset
  examples = _examples(path)
  stats = normalize.compute_stats([e.ref_TxJx3 for e in examples])
  rows = systems.system_poses(examples, fitted, stats, "m")
  assert list(rows)[2:] == list(report_lib.BASELINE_ROWS)
  poses, counts = systems.lexicon_poses(examples, fitted, stats)
  assert counts["examples"] == len(examples) == len(rows[report_lib.LEXICON])
  glosses = sum(len(e.lang_gloss_ref.split()) // 2 for e in examples)
  assert counts["glosses"] == glosses
  for e, pose in zip(examples, poses):
    lex = fitted[e.lang].lexicon
    tokens = e.lang_gloss_ref.split()[1::2]
    if any(lex.lookup(t) for t in tokens):
      want, _ = lex.predict_glosses(tokens)
      np.testing.assert_allclose(pose, want)
    else:  # nothing known: the mean pose, for the reference length
      assert len(pose) == len(e.ref_TxJx3)
  note = systems.lexicon_note(examples, fitted)
  assert (f"{counts['skipped']} of {glosses} glosses" in note
          and f"{counts.get('fallback', 0)} of {len(examples)} examples"
          in note)


def test_system_poses_without_a_lexicon_omits_the_row(dataset, fitted):
  path, _ = dataset
  examples = _examples(path, n=2)
  stats = normalize.compute_stats([e.ref_TxJx3 for e in examples])
  no_lex = {lang: fit_lib.Fitted(mean=f.mean, retrieval=f.retrieval,
                                 lexicon=None, lexicon_reason="none here")
            for lang, f in fitted.items()}
  rows = systems.system_poses(examples, no_lex, stats, "m")
  assert report_lib.LEXICON not in rows
  assert report_lib.GROUND_TRUTH in rows
  assert systems.lexicon_note(examples, no_lex) == (
      "No lexicon row: ASL: none here; GSL: none here.")
