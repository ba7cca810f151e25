"""SynthSign sentences: the concept inventory, sentence frames, word orders.

A sentence is a frame with concept slots (subject, verb, object, adjective,
time). It is realised twice: as spoken text (`realize_text`, real inflected
words in the paired spoken language) and as a sign sequence (`sign_order`,
concept ids in the sign language's own order). The sign orders deliberately
differ from the spoken ones, as they do in real sign languages:
- time signs always come first (topic-comment), even where the spoken
  language puts the adverb later;
- GSL, DSGS, LIS-CH, KSL and TSL are verb-final (SOV); LSF-CH topicalises the
  object (OSV); ASL and LSA keep SVO;
- negation and wh-signs come last (HOUSE BIG NOT, DOG WHERE, MAN EAT WHAT);
- articles, copulas, particles and case endings have no sign.
"""

import dataclasses
import functools

import numpy as np

from signllm_jax import languages
from signllm_jax.data.synth import morphology
from signllm_jax.data.synth import words

KINDS = ("noun", "transitive", "intransitive", "adjective", "time",
         "function")
_ROW_GROUPS = (
    ("noun", words.NOUN_ROWS), ("transitive", words.TRANSITIVE_ROWS),
    ("intransitive", words.INTRANSITIVE_ROWS),
    ("adjective", words.ADJECTIVE_ROWS), ("time", words.TIME_ROWS),
    ("function", words.FUNCTION_ROWS))

# Gloss order of the main clause per sign language.
WORD_ORDER = {
    "ASL": "SVO", "GSL": "SOV", "DSGS": "SOV", "LSF-CH": "OSV",
    "LIS-CH": "SOV", "LSA": "SVO", "KSL": "SOV", "TSL": "SOV",
}
FRAMES = ("intransitive", "transitive", "adjective", "negated", "where",
          "what")
FRAME_WEIGHTS = (0.22, 0.35, 0.15, 0.10, 0.08, 0.10)
TIME_PROBABILITY = 0.35


@dataclasses.dataclass(frozen=True)
class Concept:
  id: int
  name: str
  kind: str
  tags: str
  fields: dict[str, str]  # spoken language -> raw field of words.py
  words: dict[str, str]  # spoken language -> citation form

  def __hash__(self):
    return hash(self.id)


def _citation(kind: str, spoken: str, field: str) -> str:
  surface, lemma = morphology.split_lemma(field)
  if lemma is not None:
    return lemma
  if kind == "noun":
    return morphology.parse_noun(spoken, field).lemma
  head = surface.split("|")[0]
  return head.lstrip("~")


def _build_concepts() -> tuple[Concept, ...]:
  out = []
  for kind, rows in _ROW_GROUPS:
    for row in rows:
      name, tags, *fields = row
      if len(fields) != len(words.SPOKEN):
        raise ValueError(f"words.py row {name}: {len(fields)} word fields, "
                         f"expected {len(words.SPOKEN)}")
      fd = dict(zip(words.SPOKEN, fields))
      out.append(Concept(
          id=len(out), name=name, kind=kind, tags=tags, fields=fd,
          words={s: _citation(kind, s, f) for s, f in fd.items()}))
  return tuple(out)


CONCEPTS = _build_concepts()
NUM_CONCEPTS = len(CONCEPTS)
CONCEPT_ID = {c.name: c.id for c in CONCEPTS}
NOT, WHERE, WHAT = CONCEPT_ID["NOT"], CONCEPT_ID["WHERE"], CONCEPT_ID["WHAT"]


def spoken_of(lang: str) -> str:
  languages.lang_index(lang)
  return languages.BY_CODE[lang].spoken


@functools.cache
def gloss_tokens(lang: str) -> tuple[str, ...]:
  """Gloss token of every concept in `lang` (the spoken citation form)."""
  spoken = spoken_of(lang)
  return tuple(morphology.gloss_token(c.words[spoken], spoken)
               for c in CONCEPTS)


@functools.cache
def concept_of_gloss(lang: str) -> dict[str, int]:
  return {g: i for i, g in enumerate(gloss_tokens(lang))}


@functools.cache
def _noun(spoken: str, cid: int) -> morphology.Noun:
  return morphology.parse_noun(spoken, CONCEPTS[cid].fields[spoken])


@functools.cache
def _verb(spoken: str, cid: int) -> tuple[str, str, bool]:
  """(citation, 3rd person singular, object in dative)."""
  field, _ = morphology.split_lemma(CONCEPTS[cid].fields[spoken])
  parts = field.split("|")
  dative = parts[-1] == "D"
  if dative:
    parts = parts[:-1]
  if spoken == "en":
    return parts[0], parts[1] if len(parts) > 1 else morphology.english_3sg(
        parts[0]), False
  if spoken == "ko":
    return parts[0], morphology.korean_plain(parts[0]), False
  return parts[0], parts[1], dative


@functools.cache
def _adjective(spoken: str, cid: int) -> tuple[str, str, bool]:
  """(masculine, feminine, uses Spanish "estar")."""
  field, _ = morphology.split_lemma(CONCEPTS[cid].fields[spoken])
  estar = field.startswith("~")
  forms = field.lstrip("~").split("|")
  return forms[0], forms[-1], estar


def _word(spoken: str, cid: int) -> str:
  return morphology.split_lemma(CONCEPTS[cid].fields[spoken])[0]


# --- Sentences ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Sentence:
  frame: str
  subject: int
  verb: int = -1
  obj: int = -1
  adjective: int = -1
  time: int = -1

  def key(self) -> tuple[int, ...]:
    """What makes two sentences the same combination (for split hashing)."""
    return (FRAMES.index(self.frame), self.subject, self.verb, self.obj,
            self.adjective, self.time)


def _ids(kind: str) -> np.ndarray:
  return np.array([c.id for c in CONCEPTS if c.kind == kind], np.int32)


def _nouns_with(tags: str) -> np.ndarray:
  return np.array([c.id for c in CONCEPTS if c.kind == "noun"
                   and set(c.tags) & set(tags)], np.int32)


@functools.cache
def _tables():
  vt, vi, adj = _ids("transitive"), _ids("intransitive"), _ids("adjective")
  vt_subj = [_nouns_with(CONCEPTS[v].tags.split(">")[0]) for v in vt]
  vt_obj = [_nouns_with(CONCEPTS[v].tags.split(">")[1]) for v in vt]
  vi_subj = [_nouns_with(CONCEPTS[v].tags) for v in vi]
  adj_subj = [_nouns_with(CONCEPTS[a].tags) for a in adj]
  return dict(vt=vt, vi=vi, adj=adj, time=_ids("time"), noun=_ids("noun"),
              vt_subj=vt_subj, vt_obj=vt_obj, vi_subj=vi_subj,
              adj_subj=adj_subj, frame_p=np.cumsum(FRAME_WEIGHTS))


def _pick(rng: np.random.Generator, arr) -> int:
  return int(arr[rng.integers(len(arr))])


def sample_sentence(rng: np.random.Generator) -> Sentence:
  t = _tables()
  frame = FRAMES[int(np.searchsorted(t["frame_p"],
                                     rng.random() * t["frame_p"][-1]))]
  time = -1
  if frame in ("intransitive", "transitive") and (
      rng.random() < TIME_PROBABILITY):
    time = _pick(rng, t["time"])
  if frame == "intransitive":
    k = rng.integers(len(t["vi"]))
    return Sentence(frame, _pick(rng, t["vi_subj"][k]), verb=int(t["vi"][k]),
                    time=time)
  if frame in ("transitive", "what"):
    k = rng.integers(len(t["vt"]))
    subj = _pick(rng, t["vt_subj"][k])
    obj = -1
    if frame == "transitive":
      obj = subj
      while obj == subj:
        obj = _pick(rng, t["vt_obj"][k])
    return Sentence(frame, subj, verb=int(t["vt"][k]), obj=obj, time=time)
  if frame in ("adjective", "negated"):
    k = rng.integers(len(t["adj"]))
    return Sentence(frame, _pick(rng, t["adj_subj"][k]),
                    adjective=int(t["adj"][k]))
  return Sentence(frame, _pick(rng, t["noun"]))


def sign_order(s: Sentence, lang: str) -> tuple[int, ...]:
  """Concept ids of the sentence's signs, in `lang`'s gloss order."""
  order = WORD_ORDER[lang]
  head = (s.time,) if s.time >= 0 else ()
  if s.frame == "intransitive":
    return head + (s.subject, s.verb)
  if s.frame == "transitive":
    slots = {"S": s.subject, "V": s.verb, "O": s.obj}
    return head + tuple(slots[c] for c in order)
  if s.frame == "adjective":
    return (s.subject, s.adjective)
  if s.frame == "negated":
    return (s.subject, s.adjective, NOT)
  if s.frame == "where":
    return (s.subject, WHERE)
  if s.frame == "what":
    return (s.subject, s.verb, WHAT)
  raise ValueError(f"unknown frame {s.frame!r}")


# --- Spoken realisation ----------------------------------------------------


def _np(spoken: str, cid: int, case: str = "nom") -> str:
  if spoken == "en":
    return "the " + _word("en", cid)
  noun = _noun(spoken, cid)
  return getattr(noun, case)


def _adj_form(spoken: str, adj: int, noun: int) -> str:
  masc, fem, _ = _adjective(spoken, adj)
  if spoken in ("fr", "it", "es") and _noun(spoken, noun).feminine:
    return fem
  return masc


def _text_en(s: Sentence) -> str:
  subj = _np("en", s.subject)
  time = _word("en", s.time) + " " if s.time >= 0 else ""
  if s.frame == "intransitive":
    return f"{time}{subj} {_verb('en', s.verb)[1]}."
  if s.frame == "transitive":
    return f"{time}{subj} {_verb('en', s.verb)[1]} {_np('en', s.obj)}."
  adj = _word("en", s.adjective) if s.adjective >= 0 else ""
  if s.frame == "adjective":
    return f"{subj} is {adj}."
  if s.frame == "negated":
    return f"{subj} is not {adj}."
  if s.frame == "where":
    return f"where is {subj}?"
  return f"what does {subj} {_verb('en', s.verb)[0]}?"


def _text_de(s: Sentence) -> str:
  subj = _np("de", s.subject)
  if s.frame in ("intransitive", "transitive"):
    _, v3, dative = _verb("de", s.verb)
    obj = (" " + _np("de", s.obj, "dat" if dative else "acc")
           if s.frame == "transitive" else "")
    if s.time >= 0:  # Verb second: the adverb pushes the subject after it.
      return f"{_word('de', s.time)} {v3} {subj}{obj}."
    return f"{subj} {v3}{obj}."
  if s.frame == "adjective":
    return f"{subj} ist {_word('de', s.adjective)}."
  if s.frame == "negated":
    return f"{subj} ist nicht {_word('de', s.adjective)}."
  if s.frame == "where":
    return f"wo ist {subj}?"
  return f"was {_verb('de', s.verb)[1]} {subj}?"


_FR_VOWEL_START = tuple("aeiouyhàâéèêëîïôûù")


def _text_romance(s: Sentence, spoken: str) -> str:
  subj = _np(spoken, s.subject)
  time = _word(spoken, s.time) + " " if s.time >= 0 else ""
  if s.frame in ("intransitive", "transitive", "what"):
    v3 = _verb(spoken, s.verb)[1]
  if s.frame == "intransitive":
    return f"{time}{subj} {v3}."
  if s.frame == "transitive":
    obj = _np(spoken, s.obj)
    if spoken == "es" and "P" in CONCEPTS[s.obj].tags:
      obj = "a " + obj  # Personal "a" before a human object.
      obj = "al " + obj[5:] if obj.startswith("a el ") else obj
    return f"{time}{subj} {v3} {obj}."
  if s.frame in ("adjective", "negated"):
    adj = _adj_form(spoken, s.adjective, s.subject)
    neg = s.frame == "negated"
    if spoken == "fr":
      return f"{subj} {'n’est pas' if neg else 'est'} {adj}.".replace(
          "’", "'")
    if spoken == "it":
      return f"{subj} {'non è' if neg else 'è'} {adj}."
    cop = "está" if _adjective("es", s.adjective)[2] else "es"
    return f"{subj} {'no ' if neg else ''}{cop} {adj}."
  if s.frame == "where":
    return {"fr": f"où est {subj} ?", "it": f"dov'è {subj}?",
            "es": f"¿dónde está {subj}?"}[spoken]
  if spoken == "fr":
    que = "qu'" if v3.startswith(_FR_VOWEL_START) else "que "
    return f"{que}{v3} {subj} ?"
  if spoken == "it":
    return f"che cosa {v3} {subj}?"
  return f"¿qué {v3} {subj}?"


def _text_ko(s: Sentence) -> str:
  noun = _word("ko", s.subject)
  subj = morphology.korean_particle(noun, "이", "가")
  time = _word("ko", s.time) + " " if s.time >= 0 else ""
  if s.frame == "intransitive":
    return f"{time}{subj} {_verb('ko', s.verb)[1]}."
  if s.frame == "transitive":
    obj = morphology.korean_particle(_word("ko", s.obj), "을", "를")
    return f"{time}{subj} {obj} {_verb('ko', s.verb)[1]}."
  if s.frame == "adjective":
    return f"{subj} {_word('ko', s.adjective)}."
  if s.frame == "negated":
    return f"{subj} " + morphology.korean_negative_adjective(
        _word("ko", s.adjective)) + "."
  if s.frame == "where":
    return morphology.korean_particle(noun, "은", "는") + " 어디에 있어요?"
  return f"{subj} 무엇을 {morphology.korean_question(_verb('ko', s.verb)[0])}?"


def _text_tr(s: Sentence) -> str:
  subj = _np("tr", s.subject)
  time = _word("tr", s.time) + " " if s.time >= 0 else ""
  if s.frame == "intransitive":
    return f"{time}{subj} {_verb('tr', s.verb)[1]}."
  if s.frame == "transitive":
    _, v3, dative = _verb("tr", s.verb)
    return f"{time}{subj} {_np('tr', s.obj, 'dat' if dative else 'acc')} {v3}."
  if s.frame == "adjective":
    return f"{subj} {_word('tr', s.adjective)}."
  if s.frame == "negated":
    return f"{subj} {_word('tr', s.adjective)} değil."
  if s.frame == "where":
    return f"{subj} nerede?"
  return f"{subj} ne {_verb('tr', s.verb)[1]}?"


def realize_text(s: Sentence, lang: str) -> str:
  """The sentence in the spoken language paired with sign language `lang`."""
  spoken = spoken_of(lang)
  if spoken == "en":
    text = _text_en(s)
  elif spoken == "de":
    text = _text_de(s)
  elif spoken == "ko":
    text = _text_ko(s)
  elif spoken == "tr":
    text = _text_tr(s)
  else:
    text = _text_romance(s, spoken)
  return morphology.capitalize(text, spoken)


def citation_text(cid: int, lang: str) -> str:
  """The text of an isolated-sign example: the concept's citation form."""
  return CONCEPTS[cid].words[spoken_of(lang)]
