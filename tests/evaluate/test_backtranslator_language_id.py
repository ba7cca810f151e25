"""experiments/backtranslator_language_id.py: which language an answer is in."""

from experiments import backtranslator_language_id as lid

VOCAB = {"ASL": {"the", "dog", "runs"}, "GSL": {"der", "hund", "läuft"},
         "LSA": {"el", "perro", "corre", "the"}}


def test_the_language_covering_most_words_wins():
  assert lid.languages_of("Der Hund läuft.", VOCAB) == ["GSL"]
  assert lid.languages_of("The dog runs", VOCAB) == ["ASL"]


def test_ties_count_for_every_tied_language_and_unknown_text_for_none():
  assert lid.languages_of("the", VOCAB) == ["ASL", "LSA"]
  assert lid.languages_of("playa", VOCAB) == []
  assert lid.languages_of("", VOCAB) == []
