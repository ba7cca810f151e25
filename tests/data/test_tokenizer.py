"""Tests of the SentencePiece tokenizer."""

import pickle

import pytest

from signllm_jax import languages
from signllm_jax.data import tokenizer as tokenizer_lib

_SENTENCES = [
    "When does this take place?", "What is the weather like tomorrow?",
    "Wie wird das Wetter morgen? Größe und Straße", "Grüezi mitenand",
    "Où est la gare ? L'élève a déjà mangé.", "Dove si trova la stazione?",
    "¿Dónde está la estación? Mañana.", "안녕하세요 반갑습니다 학교에 갑니다",
    "Işık ılık, şeker çok güzel.", "ASL When ASL does ASL this",
    "GSL Wie GSL wird", "LSF-CH Où LSF-CH est", "LIS-CH Dove KSL 학교 TSL ışık",
]


@pytest.fixture(scope="module")
def tok():
  return tokenizer_lib.train_tokenizer(_SENTENCES * 10, vocab_size=400)


@pytest.mark.parametrize("text", [
    "Größe Straße", "ılık şeker İstanbul Işık", "한국어 문장입니다 뷁",
    "élève à côté, naïve Noël", "¿Mañana?", "日本語 emoji 🙂", "two  spaces",
])
def test_unicode_round_trip_without_unk(tok, text):
  ids = tok.encode(text)
  assert tokenizer_lib.UNK_ID not in ids
  assert tok.decode(ids) == text


def test_decomposed_accents_encode_like_composed(tok):
  assert tok.encode("e\u0301le\u0300ve") == tok.encode("élève")


@pytest.mark.parametrize("code", languages.LANG_CODES)
def test_language_tags_are_single_tokens(tok, code):
  tag = tok.lang_tag_id(code)
  ids = tok.encode(f"{code} Dove {code} 학교")
  assert ids.count(tag) == 2
  assert tok.id_to_piece(tag) == code
  # A tag inside a LangGloss is never split into pieces.
  assert code in tok.encode_pieces(f"x {code} y")


def test_special_ids_and_decode_skips_them(tok):
  assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)
  ids = tok.encode("Dove si trova?")
  assert tok.decode([2] + ids + [3, 0, 0]) == "Dove si trova?"
  assert 256 < tok.vocab_size <= 400


def test_save_load_and_pickle(tok, tmp_path):
  path = tmp_path / "tok.model"
  tok.save(path)
  loaded = tokenizer_lib.Tokenizer.load(path)
  assert loaded == tok
  assert loaded.encode("Größe 학교") == tok.encode("Größe 학교")
  assert pickle.loads(pickle.dumps(tok)).encode("ışık") == tok.encode("ışık")


def test_unknown_language_and_bad_vocab():
  with pytest.raises(ValueError, match="unknown sign language"):
    tokenizer_lib.train_tokenizer(_SENTENCES, vocab_size=400).lang_tag_id("XX")
  with pytest.raises(ValueError, match="too small"):
    tokenizer_lib.train_tokenizer(_SENTENCES, vocab_size=100)
  with pytest.raises(ValueError, match="distinct characters"):
    tokenizer_lib.train_tokenizer(_SENTENCES, vocab_size=300)
  with pytest.raises(ValueError, match="model_type"):
    tokenizer_lib.train_tokenizer(_SENTENCES, model_type="word")


def test_bpe_also_trains():
  tok = tokenizer_lib.train_tokenizer(_SENTENCES * 5, vocab_size=350,
                                      model_type="bpe")
  assert tok.decode(tok.encode("Größe ışık 학교")) == "Größe ışık 학교"
