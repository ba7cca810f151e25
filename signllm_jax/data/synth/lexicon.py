"""The SynthSign lexicon: shared concepts, one parametric sign per language.

Every sign language gets a sign for every concept of `grammar.CONCEPTS`, drawn
from the form inventories of `motion.py` with realistic skew (B, 5, 1 and A
are the commonest handshapes; neutral space and the chest the commonest
locations). Within a language no two concepts share a form. The three Swiss
sign languages (DSGS, LSF-CH, LIS-CH) form a family: exactly
`round(SHARED_FRACTION * NUM_CONCEPTS)` concepts have one identical sign in
all three, and all other signs differ between them, so transfer between
related languages is measurable (`Lexicon.shared_with`). Signs of unrelated
languages are drawn independently.
"""

import functools

import numpy as np

from signllm_jax import languages
from signllm_jax.data.synth import grammar
from signllm_jax.data.synth import motion

SignParams = motion.SignParams
Concept = grammar.Concept

SHARED_FRACTION = 0.5
FAMILIES = (("DSGS", "LSF-CH", "LIS-CH"),)
DEFAULT_SEED = 0

_HANDSHAPE_P = np.array([10, 8, 7, 9, 5, 3, 4, 4, 4, 3, 3, 4, 3, 2, 2, 4],
                        float)
_ORIENT_P = np.array([4, 4, 4, 3, 3, 3, 2, 3], float)
_LOCATION_P = np.array([3, 3, 3, 2, 5, 3, 2, 2, 9, 4, 3], float)  # no base
_MOVEMENT_P = np.array([4, 5, 4, 3, 3, 3, 3, 3, 2, 4, 2, 2, 3, 2], float)
_HANDS_P = np.array([0.55, 0.2, 0.1, 0.15])
_BASE_HANDSHAPES = (0, 1, 2, 6)  # B, 5, A, C
# Handshape changes that occur (opening and closing hands).
_CHANGES = ((2, 1), (1, 2), (15, 1), (7, 1), (3, 13), (0, 11), (12, 2),
            (8, 4))
_CHANGE_P = 0.12


def _p(w: np.ndarray) -> np.ndarray:
  return w / w.sum()


def _draw_sign(rng: np.random.Generator) -> SignParams:
  hs = int(rng.choice(len(_HANDSHAPE_P), p=_p(_HANDSHAPE_P)))
  hs_end = hs
  if rng.random() < _CHANGE_P:
    hs, hs_end = _CHANGES[rng.integers(len(_CHANGES))]
  hands = int(rng.choice(len(_HANDS_P), p=_HANDS_P))
  if motion.HANDS[hands] == "base":
    location = motion.BASE_LOCATION
    base = int(_BASE_HANDSHAPES[rng.integers(len(_BASE_HANDSHAPES))])
  else:
    location = int(rng.choice(len(_LOCATION_P), p=_p(_LOCATION_P)))
    base = hs
  return SignParams(
      handshape=int(hs), handshape_end=int(hs_end),
      orientation=int(rng.choice(len(_ORIENT_P), p=_p(_ORIENT_P))),
      location=location,
      movement=int(rng.choice(len(_MOVEMENT_P), p=_p(_MOVEMENT_P))),
      hands=hands, base_handshape=base, size=int(rng.integers(2)),
      duration=int(rng.integers(12, 27)))


def _draw_unique(rng, taken: set, forbidden=()) -> SignParams:
  while True:
    sign = _draw_sign(rng)
    if sign.form() not in taken and all(
        sign.form() != f.form() for f in forbidden):
      taken.add(sign.form())
      return sign


def family_of(lang: str) -> tuple[str, ...]:
  for family in FAMILIES:
    if lang in family:
      return family
  return (lang,)


class Lexicon:
  """Concepts and their signs; `Lexicon(seed)` is deterministic.

  Attributes: `seed`; `signs[lang]` (a SignParams per concept id);
  `shared_concepts` (the ids whose sign is shared within a family).
  """

  def __init__(self, seed: int = DEFAULT_SEED):
    self.seed = int(seed)
    self.signs, self.shared_concepts = _tables(self.seed)

  def __repr__(self):
    return f"Lexicon(seed={self.seed})"

  @property
  def concepts(self) -> tuple[Concept, ...]:
    return grammar.CONCEPTS

  @property
  def num_concepts(self) -> int:
    return grammar.NUM_CONCEPTS

  def sign(self, lang: str, concept_id: int) -> SignParams:
    languages.lang_index(lang)
    if not 0 <= concept_id < self.num_concepts:
      raise ValueError(f"concept id {concept_id} out of range "
                       f"[0, {self.num_concepts})")
    return self.signs[lang][concept_id]

  def word(self, lang: str, concept_id: int) -> str:
    """The concept's citation form in `lang`'s spoken language."""
    return grammar.citation_text(concept_id, lang)

  def gloss(self, lang: str, concept_id: int) -> str:
    return grammar.gloss_tokens(lang)[concept_id]

  def concept_of_gloss(self, lang: str, token: str) -> int:
    try:
      return grammar.concept_of_gloss(lang)[token]
    except KeyError:
      raise ValueError(f"{token!r} is not a {lang} gloss") from None

  def shared_with(self, lang_a: str, lang_b: str) -> float:
    """Fraction of concepts whose signs are identical in the two languages."""
    a, b = self.signs[lang_a], self.signs[lang_b]
    return sum(x == y for x, y in zip(a, b)) / len(a)

  def __hash__(self):
    return hash(self.seed)

  def __eq__(self, other):
    return isinstance(other, Lexicon) and self.seed == other.seed


@functools.lru_cache(maxsize=8)
def build(seed: int = DEFAULT_SEED) -> Lexicon:
  """A shared (cached) `Lexicon(seed)`."""
  return Lexicon(seed)


@functools.lru_cache(maxsize=8)
def _tables(seed: int):
  """Draws every language's signs (a few tens of milliseconds)."""
  n = grammar.NUM_CONCEPTS
  signs: dict[str, list] = {}
  taken = {lang: set() for lang in languages.LANG_CODES}
  shared: set[int] = set()
  for f, family in enumerate(FAMILIES):
    rng = np.random.default_rng([seed, 1000 + f])
    ids = rng.permutation(n)[:round(SHARED_FRACTION * n)]
    shared |= set(int(i) for i in ids)
    family_taken: set = set()
    for cid in sorted(int(i) for i in ids):
      sign = _draw_unique(rng, family_taken)
      for lang in family:
        signs.setdefault(lang, [None] * n)[cid] = sign
        taken[lang].add(sign.form())
  for lang in languages.LANG_CODES:
    rng = np.random.default_rng([seed, languages.lang_index(lang)])
    row = signs.setdefault(lang, [None] * n)
    family = family_of(lang)
    for cid in range(n):
      if row[cid] is None:
        # Unshared concepts must differ from the relatives' signs.
        relatives = [signs[o][cid] for o in family
                     if o != lang and o in signs and signs[o][cid]]
        row[cid] = _draw_unique(rng, taken[lang], relatives)
  return ({k: tuple(signs[k]) for k in languages.LANG_CODES},
          frozenset(shared))
