"""A SentencePiece tokenizer shared by all 8 spoken languages.

Trained from Python on the corpus's train text, prompts and LangGlosses
(`train_tokenizer`); no temporary files are written (sentence iterator in,
model bytes out). Decisions:

- Special ids: pad=0, unk=1, bos=2, eos=3 (pad=0 so zero padding is padding).
- The 8 sign language tags (ASL, GSL, DSGS, LSF-CH, LIS-CH, LSA, KSL, TSL)
  are `user_defined_symbols`, so each tag is always exactly one token.
- `byte_fallback=True`: a character outside the learnt vocabulary becomes
  UTF-8 byte pieces, never `<unk>` (Hangul, Turkish ı/ş, ß, accents).
- SentencePiece's own normalisation is off ("identity") so decoding gives
  back the input exactly; `encode` applies Unicode NFC first, so composed and
  decomposed accents map to the same ids. Runs of spaces are kept as they are
  (`remove_extra_whitespaces=False`).
- `hard_vocab_limit=False`: a small corpus yields a smaller vocabulary than
  asked instead of failing.
"""

from collections.abc import Iterable, Sequence
import io
import os
import unicodedata

import sentencepiece as spm

from signllm_jax import languages

PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3


class Tokenizer:
  """Text <-> token ids; picklable (grain workers copy it by model bytes)."""

  def __init__(self, model_bytes: bytes):
    self._model_bytes = bytes(model_bytes)
    self._sp = spm.SentencePieceProcessor(model_proto=self._model_bytes)
    if (self._sp.pad_id(), self._sp.unk_id(), self._sp.bos_id(),
        self._sp.eos_id()) != (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
      raise ValueError("SentencePiece model does not use pad=0, unk=1, bos=2, "
                       "eos=3; was it trained by train_tokenizer?")
    self._tag_ids = {}
    for code in languages.LANG_CODES:
      piece_id = self._sp.piece_to_id(code)
      if piece_id == UNK_ID:
        raise ValueError(f"SentencePiece model lacks the language tag {code!r}")
      self._tag_ids[code] = piece_id

  @property
  def model_bytes(self) -> bytes:
    return self._model_bytes

  @property
  def vocab_size(self) -> int:
    return self._sp.get_piece_size()

  pad_id = PAD_ID
  unk_id = UNK_ID
  bos_id = BOS_ID
  eos_id = EOS_ID

  def encode(self, text: str) -> list[int]:
    """Token ids of `text` (no BOS/EOS; the pipeline adds them)."""
    return self._sp.encode(unicodedata.normalize("NFC", text), out_type=int)

  def encode_pieces(self, text: str) -> list[str]:
    return self._sp.encode(unicodedata.normalize("NFC", text), out_type=str)

  def decode(self, ids: Iterable[int]) -> str:
    """Text of `ids`; pad, bos and eos ids are skipped."""
    ids = [int(i) for i in ids]
    return self._sp.decode(
        [i for i in ids if i not in (PAD_ID, BOS_ID, EOS_ID)])

  def id_to_piece(self, i: int) -> str:
    return self._sp.id_to_piece(int(i))

  def lang_tag_id(self, lang: str) -> int:
    """The single token id of a sign language tag ("ASL", "LSF-CH", ...)."""
    languages.lang_index(lang)  # clear error for an unknown code
    return self._tag_ids[lang]

  def save(self, path: str | os.PathLike) -> None:
    with open(path, "wb") as f:
      f.write(self._model_bytes)

  @classmethod
  def load(cls, path: str | os.PathLike) -> "Tokenizer":
    with open(path, "rb") as f:
      return cls(f.read())

  def __getstate__(self):
    return {"model_bytes": self._model_bytes}

  def __setstate__(self, state):
    self.__init__(state["model_bytes"])

  def __eq__(self, other):
    return (isinstance(other, Tokenizer)
            and other.model_bytes == self.model_bytes)

  def __hash__(self):
    return hash(self._model_bytes)


def train_tokenizer(sentences: Iterable[str], *, vocab_size: int = 8000,
                    model_type: str = "unigram",
                    extra_symbols: Sequence[str] = (),
                    max_sentences: int = 2_000_000) -> Tokenizer:
  """Trains a SentencePiece model in memory.

  Args:
    sentences: training sentences (text, prompts, LangGlosses); streamed.
    vocab_size: the target size (a soft limit; see module docstring).
    model_type: "unigram" or "bpe".
    extra_symbols: more user-defined symbols besides the 8 language tags.
    max_sentences: SentencePiece samples at most this many sentences.

  Returns:
    The trained `Tokenizer`.
  """
  if model_type not in ("unigram", "bpe"):
    raise ValueError(f"model_type must be 'unigram' or 'bpe', not "
                     f"{model_type!r}")
  # Byte pieces (256), specials and tags must fit below the vocabulary size.
  min_vocab = 256 + 4 + len(languages.LANG_CODES) + len(extra_symbols) + 8
  if vocab_size < min_vocab:
    raise ValueError(f"vocab_size {vocab_size} is too small for byte fallback"
                     f" (at least {min_vocab})")
  model = io.BytesIO()

  def nfc_lines():
    n = 0
    for s in sentences:
      s = unicodedata.normalize("NFC", s).strip()
      if s:
        n += 1
        yield s
    if not n:
      raise ValueError("train_tokenizer: no non-empty training sentences")

  try:
    _train(nfc_lines(), model, model_type, vocab_size, extra_symbols,
           max_sentences)
  except RuntimeError as e:
    if "required_chars" in str(e):
      raise ValueError(f"vocab_size {vocab_size} is smaller than the number "
                       f"of distinct characters plus byte pieces: {e}") from e
    raise
  return Tokenizer(model.getvalue())


def _train(sentences, model, model_type, vocab_size, extra_symbols,
           max_sentences):
  spm.SentencePieceTrainer.train(
      sentence_iterator=sentences,
      model_writer=model,
      model_type=model_type,
      vocab_size=vocab_size,
      hard_vocab_limit=False,
      character_coverage=0.9995,
      byte_fallback=True,
      normalization_rule_name="identity",
      remove_extra_whitespaces=False,
      split_digits=True,
      user_defined_symbols=list(languages.LANG_CODES) + list(extra_symbols),
      pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID,
      input_sentence_size=max_sentences,
      shuffle_input_sentence=True,
      num_threads=max(1, min(8, os.cpu_count() or 1)),
      minloglevel=2,
  )
