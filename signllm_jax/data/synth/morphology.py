"""Just enough inflection for SynthSign's sentence frames in 7 spoken languages.

Covers what the frames in `grammar.py` need: definite noun phrases in
nominative/accusative/dative (German articles and weak nouns, Turkish case
suffixes with vowel harmony and final-consonant voicing, Korean particles
chosen by the final consonant), 3rd person singular present verbs (English by
rule, Korean plain and question forms computed on Hangul syllables) and
adjective agreement in French, Italian and Spanish. The field notation is
described in `words.py`.
"""

import dataclasses

# --- Field notation ---------------------------------------------------------


def split_lemma(field: str) -> tuple[str, str | None]:
  """"in the morning@morning" -> ("in the morning", "morning")."""
  if "@" in field:
    surface, lemma = field.split("@", 1)
    return surface, lemma
  return field, None


@dataclasses.dataclass(frozen=True)
class Noun:
  nom: str  # definite noun phrase, nominative ("der Mann", "l'homme", "adam")
  acc: str
  dat: str
  lemma: str  # the bare noun ("Mann", "homme")
  feminine: bool = False


_ARTICLES = ("der ", "die ", "das ", "le ", "la ", "l'", "il ", "lo ", "el ")


def _strip_article(np_: str) -> str:
  for art in _ARTICLES:
    if np_.startswith(art):
      return np_[len(art):]
  return np_


def parse_noun(spoken: str, field: str) -> Noun:
  """One noun field of `words.py` in spoken language `spoken` (ISO 639-1)."""
  field, lemma = split_lemma(field)
  gender = None
  if field.endswith((":m", ":f")):
    field, gender = field[:-2], field[-1]
  forms = field.split("/")
  nom = forms[0]
  if spoken == "de":
    if len(forms) == 3:
      acc, dat = forms[1], forms[2]
    else:
      art, rest = nom.split(" ", 1)
      acc = {"der": "den"}.get(art, art) + " " + rest
      dat = {"der": "dem", "die": "der", "das": "dem"}[art] + " " + rest
  elif spoken == "tr":
    if len(forms) == 3:
      acc, dat = forms[1], forms[2]
    else:
      acc, dat = turkish_case(nom, "acc"), turkish_case(nom, "dat")
  elif len(forms) != 1:
    raise ValueError(f"{spoken} noun {field!r}: case forms only in de/tr")
  else:
    acc = dat = nom
  if gender is None:
    gender = "f" if nom.startswith(("la ", "die ")) else "m"
  return Noun(nom=nom, acc=acc, dat=dat,
              lemma=lemma or _strip_article(nom), feminine=gender == "f")


# --- English ------------------------------------------------------------------


def english_3sg(base: str) -> str:
  """eat -> eats, watch -> watches, fly -> flies, go -> goes (first word)."""
  head, sep, tail = base.partition(" ")
  if head.endswith(("s", "sh", "ch", "x", "z", "o")):
    head += "es"
  elif head.endswith("y") and head[-2:-1] not in tuple("aeiou"):
    head = head[:-1] + "ies"
  else:
    head += "s"
  return head + sep + tail


# --- Korean -------------------------------------------------------------------

_HANGUL_BASE = 0xAC00
_JONG_NIEUN = 4  # ㄴ
_JONG_RIEUL = 8  # ㄹ


def _jong(ch: str) -> int | None:
  code = ord(ch) - _HANGUL_BASE
  return code % 28 if 0 <= code < 11172 else None


def korean_has_batchim(word: str) -> bool:
  """Whether the last syllable ends in a consonant (chooses 이/가, 을/를)."""
  jong = _jong(word[-1])
  return bool(jong) if jong is not None else False


def korean_particle(word: str, with_batchim: str, without: str) -> str:
  return word + (with_batchim if korean_has_batchim(word) else without)


def _with_jong(ch: str, jong: int) -> str:
  code = ord(ch) - _HANGUL_BASE
  return chr(_HANGUL_BASE + code - code % 28 + jong)


def korean_plain(dictionary_form: str) -> str:
  """Plain present declarative: 먹다 -> 먹는다, 자다 -> 잔다, 팔다 -> 판다."""
  if not dictionary_form.endswith("다"):
    raise ValueError(f"Korean verb {dictionary_form!r} does not end in 다")
  stem = dictionary_form[:-1]
  jong = _jong(stem[-1])
  if jong in (0, _JONG_RIEUL):  # 자 -> 잔, 팔 -> 판
    return stem[:-1] + _with_jong(stem[-1], _JONG_NIEUN) + "다"
  return stem + "는다"


def korean_question(dictionary_form: str) -> str:
  """Plain question: 먹다 -> 먹니, 팔다 -> 파니."""
  stem = dictionary_form[:-1]
  if _jong(stem[-1]) == _JONG_RIEUL:
    stem = stem[:-1] + _with_jong(stem[-1], 0)
  return stem + "니"


def korean_negative_adjective(dictionary_form: str) -> str:
  """크다 -> 크지 않다."""
  return dictionary_form[:-1] + "지 않다"


# --- Turkish ------------------------------------------------------------------

_TR_BACK = set("aıouâû")
_TR_VOWELS = set("aıoueiöüâîû")
_TR_VOICING = {"p": "b", "ç": "c", "k": "ğ"}


def turkish_case(noun: str, case: str) -> str:
  """Definite accusative ("acc") or dative ("dat") of the last word."""
  head, _, word = noun.rpartition(" ")
  vowels = [c for c in word if c in _TR_VOWELS]
  last = vowels[-1]
  back = last in _TR_BACK
  if case == "acc":
    suffix = {True: {"a": "ı", "ı": "ı", "â": "ı", "o": "u", "u": "u",
                     "û": "u"},
              False: {"e": "i", "i": "i", "î": "i", "ö": "ü", "ü": "ü"}
              }[back][last]
  elif case == "dat":
    suffix = "a" if back else "e"
  else:
    raise ValueError(f"unknown Turkish case {case!r}")
  if word[-1] in _TR_VOWELS:
    word += "y"
  elif len(vowels) > 1 and word[-1] in _TR_VOICING:
    # Final-consonant voicing in polysyllables (kitap -> kitabı); nk -> ng.
    voiced = "g" if word.endswith("nk") else _TR_VOICING[word[-1]]
    word = word[:-1] + voiced
  return (head + " " if head else "") + word + suffix


def turkish_upper(s: str) -> str:
  """Turkish upper case: i -> İ, ı -> I."""
  return s.replace("i", "İ").replace("ı", "I").upper()


# --- Shared -------------------------------------------------------------------


def capitalize(s: str, spoken: str) -> str:
  """Upper-cases the first letter (after any leading punctuation)."""
  for i, ch in enumerate(s):
    if ch.isalpha():
      up = turkish_upper(ch) if spoken == "tr" else ch.upper()
      return s[:i] + up + s[i + 1:]
  return s


def gloss_token(lemma: str, spoken: str) -> str:
  """A citation form as an upper-case gloss token: "pomme de terre" ->
  "POMME-DE-TERRE"."""
  up = turkish_upper(lemma) if spoken == "tr" else lemma.upper()
  return "-".join(up.split())
