"""SynthSign: a procedural multilingual sign corpus in the example schema.

Each example is either a sentence (2-4 signs from `grammar.py` frames, ~40-200
frames) or an isolated sign (~15-60 frames), signed by one of the language's
signers (`motion.make_signer`) and paired with spoken text, glosses in sign
order, a LangGloss, a question-style prompt, per-sign frame spans and concept
ids (docs/CONVENTIONS.md, "The example schema").

Determinism and random access: example k of (lang, split) depends only on
(seed, lang, split, k) and the lexicon, so `tiny` is a prefix of `small`,
which is a prefix of `large`, a language's examples do not depend on which
other languages are generated, and any example can be built alone
(`generate_example`), e.g. by parallel builders.

Held-out combinations: a sentence's split is a hash of its concept slots
(frame, subject, verb, object, adjective, time), the same in every language,
so no dev/test sentence occurs in train in any language, while its concepts
do. Isolated signs (single concepts, a closed vocabulary as in the isolated-
sign corpora of Prompt2Sign) occur in every split, signed anew.
"""

import dataclasses
import hashlib
from collections.abc import Iterator, Sequence

import numpy as np
import tqdm

from signllm_jax import languages
from signllm_jax.data import prompts
from signllm_jax.data.synth import grammar
from signllm_jax.data.synth import lexicon as lexicon_lib
from signllm_jax.data.synth import motion

SPLITS = ("train", "dev", "test")
# Percent buckets of the sentence hash per split.
_SPLIT_BUCKETS = {"train": (0, 90), "dev": (90, 95), "test": (95, 100)}
SIGNERS_PER_LANG = 5
MIN_SENTENCE_FRAMES = 40
MAX_SENTENCE_FRAMES = 200
MAX_ISOLATED_FRAMES = 60


@dataclasses.dataclass(frozen=True)
class CorpusSize:
  """Examples per language and split; `isolated_fraction` are single signs."""
  name: str
  train: int
  dev: int
  test: int
  isolated_fraction: float = 0.3
  streamed: bool = False  # too large to hold in memory: iterate

  def per_lang(self, split: str) -> int:
    _check_split(split)
    return getattr(self, split)


SIZES = {
    "tiny": CorpusSize("tiny", train=150, dev=25, test=25),
    "small": CorpusSize("small", train=4000, dev=300, test=300),
    "large": CorpusSize("large", train=125_000, dev=2_500, test=2_500,
                        streamed=True),
}


def _check_split(split: str) -> None:
  if split not in SPLITS:
    raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")


def get_size(size: str | CorpusSize) -> CorpusSize:
  if isinstance(size, CorpusSize):
    return size
  try:
    return SIZES[size]
  except KeyError:
    raise ValueError(
        f"unknown corpus size {size!r}; known: {', '.join(SIZES)}") from None


def _langs(langs) -> tuple[str, ...]:
  return languages.parse_langs(langs)


def num_examples(size: str | CorpusSize, split: str,
                 langs: Sequence[str] | str = languages.LANG_CODES) -> int:
  return get_size(size).per_lang(split) * len(_langs(langs))


def sentence_split(sentence: grammar.Sentence) -> str:
  """The split a sentence combination belongs to (stable across runs)."""
  digest = hashlib.blake2b(repr(sentence.key()).encode(), digest_size=4)
  bucket = int.from_bytes(digest.digest(), "little") % 100
  for split, (lo, hi) in _SPLIT_BUCKETS.items():
    if lo <= bucket < hi:
      return split
  raise AssertionError(bucket)


def signer_ids(lang: str) -> tuple[int, ...]:
  base = languages.lang_index(lang) * SIGNERS_PER_LANG
  return tuple(range(base, base + SIGNERS_PER_LANG))


def example_id(lang: str, split: str, k: int) -> str:
  return f"synth-{lang}-{split}-{k:07d}"


def _render(sign_ids, lang, signer, rng, lex, isolated: bool):
  tracks = [motion.sign_track(lex.sign(lang, c)) for c in sign_ids]
  base = [lex.sign(lang, c).duration for c in sign_ids]
  if isolated:
    frames = [max(10, round(d * 1.1 / signer.speed)) for d in base]
  else:
    frames = [max(8, round(d * 0.75 * rng.uniform(0.9, 1.1) / signer.speed))
              for d in base]
  holds = [int(h) for h in rng.integers(2, 6, size=2)]
  seq, spans = motion.assemble(tracks, frames, signer.speed, holds)
  if not isolated and len(seq) < MIN_SENTENCE_FRAMES:
    # Too short: sign more slowly rather than wait at rest.
    other = len(seq) - sum(frames)
    factor = (MIN_SENTENCE_FRAMES - other) / sum(frames)
    frames = [int(np.ceil(f * factor)) for f in frames]
    seq, spans = motion.assemble(tracks, frames, signer.speed, holds)
  limit = MAX_ISOLATED_FRAMES if isolated else MAX_SENTENCE_FRAMES
  if len(seq) > limit:  # Trim rest holds, then the lead-out.
    cut = min(len(seq) - limit, len(seq) - int(spans[-1, 1]))
    seq = seq[:len(seq) - cut]
  if not isolated and len(seq) < MIN_SENTENCE_FRAMES:
    pad = MIN_SENTENCE_FRAMES - len(seq)
    seq = np.concatenate([seq, np.broadcast_to(seq[-1], (pad, seq.shape[1]))])
  return motion.to_pose(seq, signer, rng), spans


def generate_example(lang: str, split: str, k: int, *, seed: int = 0,
                     isolated_fraction: float = 0.3,
                     lexicon: lexicon_lib.Lexicon | None = None) -> dict:
  """Example k of (lang, split): a dict in the example schema."""
  languages.lang_index(lang)
  _check_split(split)
  lex = lexicon or lexicon_lib.build()
  rng = np.random.default_rng(
      [seed, languages.lang_index(lang), SPLITS.index(split), k])
  signer = motion.make_signer(int(rng.choice(signer_ids(lang))))
  isolated = rng.random() < isolated_fraction
  if isolated:
    sign_ids = (int(rng.integers(lex.num_concepts)),)
    text = grammar.citation_text(sign_ids[0], lang)
  else:
    while True:
      sentence = grammar.sample_sentence(rng)
      if sentence_split(sentence) == split:
        break
    sign_ids = grammar.sign_order(sentence, lang)
    text = grammar.realize_text(sentence, lang)
  glosses = [lex.gloss(lang, c) for c in sign_ids]
  pose, spans = _render(sign_ids, lang, signer, rng, lex, isolated)
  return {
      "id": example_id(lang, split, k),
      "lang": lang,
      "text": text,
      "gloss": " ".join(glosses),
      "lang_gloss": prompts.make_lang_gloss(lang, glosses),
      "prompt": prompts.make_prompt(text, lang, rng, split=split),
      "pose": pose,
      "spans": spans.astype(np.int32),
      "sign_ids": np.asarray(sign_ids, np.int32),
      "signer": np.int32(signer.id),
  }


def generate_split(size: str | CorpusSize, split: str, *,
                   langs: Sequence[str] | str = languages.LANG_CODES,
                   seed: int = 0,
                   lexicon: lexicon_lib.Lexicon | None = None,
                   progress: bool = False) -> Iterator[dict]:
  """Yields the split's examples, languages interleaved (streams any size)."""
  cs = get_size(size)
  n = cs.per_lang(split)
  codes = _langs(langs)
  lex = lexicon or lexicon_lib.build()
  bar = tqdm.tqdm(total=n * len(codes), disable=not progress,
                  desc=f"synth {cs.name}/{split}", unit="ex")
  with bar:
    for k in range(n):
      for lang in codes:
        yield generate_example(lang, split, k, seed=seed,
                               isolated_fraction=cs.isolated_fraction,
                               lexicon=lex)
        bar.update()
