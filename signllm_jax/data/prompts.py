"""Question-style prompts and LangGloss strings (Prompt2LangGloss input/output).

A prompt wraps a sentence in a question asked in the spoken language paired
with the sign language (SignLLM's Prompt2LangGloss input); a LangGloss puts the
sign-language tag before every token: "ASL MAN ASL EAT ASL BREAD".

The templates below are this project's own wording (Prompt2Sign ships its own,
which are not copied here). Each has exactly one `{}` slot. Korean and Turkish
templates never attach a case particle or suffix directly to the slot (its
form would depend on the last sound of the sentence): the sentence is quoted
and a noun ("문장", "cümle") carries the particle.

Held-out templates: every fourth template of a language (`HELD_OUT`) is
used only for dev/test prompts, so stage 1 is measured on wordings it never
saw in training (`templates_for`). Naming the sign language: half of the
prompts (`NAMED_FRACTION`) add a clause naming the sign language by its full
name or its abbreviation, in the spoken language ("Auf
Deutschschweizer Gebärdensprache (DSGS), bitte."). GSL and DSGS share the
spoken text (German), so an unnamed prompt is told apart only by its
template's wording; a named one names its language outright.
"""

from collections.abc import Sequence

import numpy as np

from signllm_jax import languages

_EN = (
    "How would I sign '{}'?",
    "Could you show me the signs for '{}'?",
    "What are the signs for the sentence '{}'?",
    "Please sign this for me: '{}'.",
    "How is '{}' produced in sign language?",
    "I need to say '{}' in sign language. How does it go?",
    "What does '{}' look like when it is signed?",
    "Can you sign the sentence '{}'?",
    "Translate '{}' into sign language, please.",
    "Show me how a signer would express '{}'.",
    "My friend is deaf. How do I tell them '{}'?",
    "Which signs do I use for '{}'?",
    "In sign language, how do you put '{}'?",
    "Would you demonstrate '{}' in signs?",
    "Give me the signed version of '{}'.",
    "How do signers say '{}'?",
    "I'd like to learn to sign '{}'. Can you help?",
    "Turn '{}' into sign language for me.",
    "What is the signed form of '{}'?",
    "Teach me to sign this sentence: '{}'.",
    "How can I express '{}' with my hands?",
    "Sign '{}', please.",
)

_DE = (
    "Wie gebärde ich '{}'?",
    "Kannst du mir die Gebärden für '{}' zeigen?",
    "Welche Gebärden braucht man für den Satz '{}'?",
    "Bitte gebärde Folgendes für mich: '{}'.",
    "Wie wird '{}' in Gebärdensprache ausgeführt?",
    "Ich möchte '{}' gebärden. Wie geht das?",
    "Wie sieht '{}' gebärdet aus?",
    "Kannst du den Satz '{}' gebärden?",
    "Übersetze bitte '{}' in Gebärdensprache.",
    "Zeig mir, wie man '{}' gebärdet.",
    "Meine Nachbarin ist gehörlos. Wie sage ich ihr '{}'?",
    "Mit welchen Gebärden drücke ich '{}' aus?",
    "Wie heißt '{}' in Gebärdensprache?",
    "Würdest du '{}' einmal vorgebärden?",
    "Gib mir die gebärdete Fassung von '{}'.",
    "Wie sagen Gehörlose '{}'?",
    "Ich will lernen, '{}' zu gebärden. Hilfst du mir?",
    "Mach aus '{}' bitte Gebärdensprache.",
    "Was ist die Gebärdenform von '{}'?",
    "Bring mir bei, diesen Satz zu gebärden: '{}'.",
    "Wie drücke ich '{}' mit den Händen aus?",
    "Gebärde bitte '{}'.",
)

# Swiss Standard German: no sharp s, and a few Swiss turns of phrase.
_DE_CH = (
    "Wie gebärde ich '{}' in der Deutschschweiz?",
    "Kannst du mir zeigen, wie man '{}' gebärdet?",
    "Welche Gebärden gehören zum Satz '{}'?",
    "Gebärde mir bitte den Satz '{}'.",
    "Wie wird '{}' in der Gebärdensprache ausgeführt?",
    "Ich möchte '{}' gebärden können. Zeigst du es mir?",
    "Wie schaut '{}' in Gebärden aus?",
    "Kannst du '{}' für mich gebärden?",
    "Übersetze '{}' bitte in die Gebärdensprache.",
    "Zeig mir die Gebärden zu '{}'.",
    "Mein Kollege ist gehörlos. Wie sage ich ihm '{}'?",
    "Mit welchen Gebärden sage ich '{}'?",
    "Was heisst '{}' in Gebärdensprache?",
    "Würdest du '{}' bitte vorzeigen?",
    "Wie lautet '{}' gebärdet?",
    "Wie sagt man '{}' in Gebärden?",
    "Ich lerne Gebärdensprache. Wie gebärdet man '{}'?",
    "Mach mir aus '{}' bitte Gebärden.",
    "Was ist die gebärdete Form von '{}'?",
    "Bring mir bei, wie man '{}' gebärdet.",
    "Wie drücke ich '{}' mit Händen aus?",
    "Bitte gebärde '{}'.",
)

_FR = (
    "Comment signer '{}' ?",
    "Peux-tu me montrer les signes pour '{}' ?",
    "Quels signes faut-il pour la phrase '{}' ?",
    "Signe-moi ceci, s'il te plaît : '{}'.",
    "Comment produit-on '{}' en langue des signes ?",
    "Je dois dire '{}' en langue des signes. Comment faire ?",
    "À quoi ressemble '{}' une fois signé ?",
    "Peux-tu signer la phrase '{}' ?",
    "Traduis '{}' en langue des signes, s'il te plaît.",
    "Montre-moi comment une personne sourde exprimerait '{}'.",
    "Mon voisin est sourd. Comment lui dire '{}' ?",
    "Quels signes utiliser pour '{}' ?",
    "En langue des signes, comment dit-on '{}' ?",
    "Voudrais-tu me montrer '{}' en signes ?",
    "Donne-moi la version signée de '{}'.",
    "Comment les sourds disent-ils '{}' ?",
    "J'aimerais apprendre à signer '{}'. Tu m'aides ?",
    "Mets '{}' en langue des signes pour moi.",
    "Quelle est la forme signée de '{}' ?",
    "Apprends-moi à signer cette phrase : '{}'.",
    "Comment exprimer '{}' avec les mains ?",
    "Signe '{}', s'il te plaît.",
)

_IT = (
    "In che modo si segna '{}'?",
    "Mi fai vedere i segni per '{}'?",
    "Quali segni servono per la frase '{}'?",
    "Segnami questo, per favore: '{}'.",
    "Come si produce '{}' nella lingua dei segni?",
    "Devo dire '{}' nella lingua dei segni. Come si fa?",
    "Che aspetto ha '{}' quando viene segnato?",
    "Puoi segnare la frase '{}'?",
    "Traduci '{}' nella lingua dei segni, per favore.",
    "Mostrami come una persona sorda esprimerebbe '{}'.",
    "Mia sorella è sorda. Come le dico '{}'?",
    "Quali segni uso per '{}'?",
    "Nella lingua dei segni, come si dice '{}'?",
    "Mi dimostreresti '{}' in segni?",
    "Dammi la versione segnata di '{}'.",
    "Come dicono '{}' le persone sorde?",
    "Vorrei imparare a segnare '{}'. Mi aiuti?",
    "Trasforma '{}' in lingua dei segni per me.",
    "Qual è la forma segnata di '{}'?",
    "Insegnami a segnare questa frase: '{}'.",
    "Come esprimo '{}' con le mani?",
    "Segna '{}', per piacere.",
)

_ES = (
    "¿Cómo se seña '{}'?",
    "¿Me muestras las señas para '{}'?",
    "¿Qué señas hacen falta para la frase '{}'?",
    "Señame esto, por favor: '{}'.",
    "¿Cómo se produce '{}' en lengua de señas?",
    "Tengo que decir '{}' en lengua de señas. ¿Cómo se hace?",
    "¿Cómo se ve '{}' cuando se seña?",
    "¿Podés señar la frase '{}'?",
    "Traducí '{}' a la lengua de señas, por favor.",
    "Mostrame cómo lo expresaría una persona sorda: '{}'.",
    "Mi abuelo es sordo. ¿Cómo le digo '{}'?",
    "¿Qué señas uso para '{}'?",
    "En lengua de señas, ¿cómo se dice '{}'?",
    "¿Me harías una demostración de '{}' en señas?",
    "Dame la versión señada de '{}'.",
    "¿Cómo dicen '{}' las personas sordas?",
    "Quiero aprender a señar '{}'. ¿Me ayudás?",
    "Pasá '{}' a lengua de señas para mí.",
    "¿Cuál es la forma señada de '{}'?",
    "Enseñame a señar esta oración: '{}'.",
    "¿Cómo expreso '{}' con las manos?",
    "Señá '{}', por favor.",
)

_KO = (
    "'{}' 이 문장을 수어로 어떻게 하나요?",
    "다음 문장의 수어를 보여 주세요: '{}'",
    "'{}' 문장은 수어로 어떻게 표현해요?",
    "수어로 이렇게 말하고 싶어요: '{}'. 어떻게 하죠?",
    "'{}' 문장을 수어로 바꿔 주실래요?",
    "이 말을 수어로 알려 주세요: '{}'",
    "'{}' 문장을 수어로 하면 어떤 모습인가요?",
    "다음 문장을 수어로 보여 줄 수 있어요? '{}'",
    "농인 친구에게 '{}' 문장을 전하고 싶어요. 수어로 어떻게 하나요?",
    "'{}' 문장에는 어떤 수어를 쓰나요?",
    "한국수어로 다음 문장을 표현해 주세요: '{}'",
    "이 문장의 수어 동작이 궁금해요: '{}'",
    "'{}' 문장을 손으로 어떻게 표현하나요?",
    "다음 문장을 수어로 번역해 주세요: '{}'",
    "수어를 배우고 있어요. '{}' 문장은 어떻게 하나요?",
    "'{}' 문장의 수어 표현을 가르쳐 주세요.",
    "다음 말을 수어로 어떻게 전하나요? '{}'",
    "'{}' 문장을 수어로 시연해 주세요.",
    "수어 통역사라면 다음 문장을 어떻게 할까요? '{}'",
    "'{}' 문장을 수어로 한번 해 주세요.",
    "다음 문장에 맞는 수어를 알고 싶어요: '{}'",
    "'{}' 문장을 수어로 표현하는 법을 알려 주세요.",
)

_TR = (
    "'{}' cümlesini işaret diliyle nasıl anlatırım?",
    "Şu cümlenin işaretlerini gösterir misin: '{}'",
    "'{}' cümlesi işaret dilinde nasıl yapılır?",
    "Lütfen şu cümleyi benim için işaretle: '{}'",
    "İşaret dilinde şunu söylemem gerek: '{}'. Nasıl yapılır?",
    "'{}' cümlesi işaretlenince nasıl görünür?",
    "Şu cümleyi işaret diline çevirir misin? '{}'",
    "İşitme engelli arkadaşıma şunu demek istiyorum: '{}'. Nasıl işaretlerim?",
    "'{}' cümlesi için hangi işaretleri kullanırım?",
    "Türk İşaret Dili'nde şu cümle nasıl söylenir: '{}'",
    "Şu cümlenin işaret dilindeki hâlini öğret: '{}'",
    "'{}' cümlesini ellerimle nasıl ifade ederim?",
    "Şu cümleyi işaret diline çevir lütfen: '{}'",
    "İşaret dili öğreniyorum. '{}' cümlesi nasıl yapılıyor?",
    "'{}' cümlesinin işaretli biçimi nedir?",
    "Bir tercüman şu cümleyi nasıl işaretler: '{}'",
    "'{}' cümlesini bana işaret diliyle göster.",
    "Şunu işaret dilinde nasıl derim: '{}'",
    "'{}' cümlesinin işaretlerini öğrenmek istiyorum.",
    "Şu cümle için doğru işaretler hangileri: '{}'",
    "'{}' cümlesini bir kez işaretler misin?",
    "Şu sözü işaret diliyle anlat: '{}'",
)

TEMPLATES: dict[str, tuple[str, ...]] = {
    "ASL": _EN,
    "GSL": _DE,
    "DSGS": _DE_CH,
    "LSF-CH": _FR,
    "LIS-CH": _IT,
    "LSA": _ES,
    "KSL": _KO,
    "TSL": _TR,
}
assert tuple(TEMPLATES) == languages.LANG_CODES


# Names of each sign language as a user would write them in its paired
# spoken language: the full name and the usual abbreviation.
SIGN_LANGUAGE_NAMES: dict[str, tuple[str, ...]] = {
    "ASL": ("American Sign Language", "ASL"),
    "GSL": ("Deutscher Gebärdensprache", "DGS"),
    "DSGS": ("Deutschschweizer Gebärdensprache", "DSGS"),
    "LSF-CH": ("langue des signes française de Suisse romande", "LSF-SR"),
    "LIS-CH": ("lingua dei segni italiana della Svizzera italiana", "LIS-SI"),
    "LSA": ("lengua de señas argentina", "LSA"),
    "KSL": ("한국수어", "KSL"),
    "TSL": ("Türk İşaret Dili", "TİD"),
}
assert tuple(SIGN_LANGUAGE_NAMES) == languages.LANG_CODES

# Clauses appended to a prompt to name its sign language ({} = a name).
_NAMING: dict[str, tuple[str, ...]] = {
    "en": ("In {}, please.", "I mean in {}."),
    "de": ("Auf {}, bitte.", "Ich meine in {}."),
    "fr": ("En {}, s'il te plaît.", "Je veux dire en {}."),
    "it": ("In {}, per favore.", "Intendo in {}."),
    "es": ("En {}, por favor.", "Digo en {}."),
    "ko": ("{}로 부탁해요.", "{}로 알려 주세요."),
    "tr": ("{} ile lütfen.", "{} ile göster."),
}
NAMED_FRACTION = 0.5
HELD_OUT_EVERY = 4  # template i is held out when i % 4 == 3
EVAL_SPLITS = ("dev", "test")


def held_out(i: int) -> bool:
  """Whether template `i` of a language is reserved for dev/test prompts."""
  return i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1


def templates_for(lang: str, split: str) -> tuple[str, ...]:
  """The templates of `lang` a prompt of `split` may use.

  train gets the others; dev and test get the held-out ones, so no test
  template appears in training.
  """
  languages.lang_index(lang)
  if split not in ("train",) + EVAL_SPLITS:
    raise ValueError(f"unknown split {split!r}; known: train, "
                     f"{', '.join(EVAL_SPLITS)}")
  evaluating = split in EVAL_SPLITS
  return tuple(t for i, t in enumerate(TEMPLATES[lang])
               if held_out(i) == evaluating)


def naming_clause(lang: str, name_index: int, clause_index: int) -> str:
  """The clause naming `lang` (name and wording chosen by index)."""
  spoken = languages.BY_CODE[lang].spoken
  names = SIGN_LANGUAGE_NAMES[lang]
  clauses = _NAMING[spoken]
  return clauses[clause_index % len(clauses)].format(
      names[name_index % len(names)])


class LangGlossError(ValueError):
  """A malformed LangGloss string."""


def make_prompt(text: str, lang: str, rng: np.random.Generator, *,
                split: str = "train",
                named: bool | None = None) -> str:
  """Wraps `text` in a random question template of `lang`'s spoken language.

  The template comes from `split`'s share (`templates_for`). `named`
  forces (True) or forbids (False) the clause naming the sign language;
  None draws it with probability NAMED_FRACTION.
  """
  templates = templates_for(lang, split)
  prompt = templates[int(rng.integers(len(templates)))].format(text)
  if named is None:
    named = bool(rng.random() < NAMED_FRACTION)
  if named:
    prompt += " " + naming_clause(lang, int(rng.integers(2)),
                                  int(rng.integers(2)))
  return prompt


def names_language(prompt: str, lang: str) -> bool:
  """Whether `prompt` names sign language `lang` (by a known name)."""
  return any(name in prompt for name in SIGN_LANGUAGE_NAMES[lang])


def make_lang_gloss(lang: str, tokens: Sequence[str]) -> str:
  """("ASL", ["W1", "W2"]) -> "ASL W1 ASL W2"."""
  languages.lang_index(lang)
  if isinstance(tokens, str):
    raise TypeError("tokens must be a sequence of tokens, not a str")
  parts = []
  for i, token in enumerate(tokens):
    if not token or any(c.isspace() for c in token):
      raise LangGlossError(
          f"token {i} ({token!r}) is empty or contains whitespace")
    parts += [lang, token]
  return " ".join(parts)


def parse_lang_gloss(s: str) -> list[tuple[str, str]]:
  """Parses a LangGloss; raises LangGlossError for malformed input.

  "ASL W1 GSL W2" -> [("ASL", "W1"), ("GSL", "W2")].
  """
  words = s.split()
  if len(words) % 2:
    raise LangGlossError(
        f"LangGloss {s!r} has an odd number of words ({len(words)}): "
        "expected alternating language tags and tokens")
  pairs = []
  for i in range(0, len(words), 2):
    tag, token = words[i], words[i + 1]
    if tag not in languages.BY_CODE:
      raise LangGlossError(
          f"LangGloss {s!r}: word {i} ({tag!r}) is not a language tag; "
          f"known: {', '.join(languages.LANG_CODES)}")
    if token in languages.BY_CODE:
      raise LangGlossError(
          f"LangGloss {s!r}: word {i + 1} ({token!r}) is a language tag "
          "where a token was expected")
    pairs.append((tag, token))
  return pairs
