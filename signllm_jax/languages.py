"""The 8 Prompt2Sign sign languages and the spoken language each is paired with."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class SignLanguage:
  code: str  # the LangGloss tag, e.g. "ASL"
  name: str
  spoken: str  # ISO 639-1 code of the paired spoken language
  spoken_name: str


SIGN_LANGUAGES = (
    SignLanguage("ASL", "American Sign Language", "en", "English"),
    SignLanguage("GSL", "German Sign Language (DGS)", "de", "German"),
    SignLanguage("DSGS", "Swiss German Sign Language", "de", "German"),
    SignLanguage("LSF-CH", "Swiss French Sign Language", "fr", "French"),
    SignLanguage("LIS-CH", "Swiss Italian Sign Language", "it", "Italian"),
    SignLanguage("LSA", "Argentine Sign Language", "es", "Spanish"),
    SignLanguage("KSL", "Korean Sign Language", "ko", "Korean"),
    SignLanguage("TSL", "Turkish Sign Language", "tr", "Turkish"),
)
LANG_CODES = tuple(l.code for l in SIGN_LANGUAGES)
NUM_LANGS = len(LANG_CODES)
BY_CODE = {l.code: l for l in SIGN_LANGUAGES}


def lang_index(code: str) -> int:
  """Index of a sign language code; a clear error for an unknown one."""
  try:
    return LANG_CODES.index(code)
  except ValueError:
    raise ValueError(
        f"unknown sign language code {code!r}; known: {', '.join(LANG_CODES)}"
    ) from None


def parse_langs(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
  """'all' or 'ASL,GSL' -> validated tuple of codes, in canonical order."""
  if isinstance(spec, str):
    spec = LANG_CODES if spec.strip().lower() == "all" else [
        s.strip() for s in spec.split(",") if s.strip()]
  codes = tuple(spec)
  for c in codes:
    lang_index(c)
  if not codes:
    raise ValueError("empty language list")
  return tuple(c for c in LANG_CODES if c in codes)
