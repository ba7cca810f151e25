"""Stage-1 evaluation of a (smoke-trained) Prompt2LangGloss workdir."""

import ml_collections
import pytest

from signllm_jax import languages
from signllm_jax import workdir as workdir_lib
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import stage1
from tests import trained

P2LG = "experiments/prompt2langgloss_cpu.py:smoke"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
  return workdir_lib.load_workdir(
      trained.trained_workdir(tmp_path_factory, P2LG))


def _data_cfg(loaded):
  data_cfg = ml_collections.ConfigDict(loaded.cfg.data.to_dict())
  data_cfg.language_homogeneous = True
  return data_cfg


def test_every_example_once_with_both_decodings(loaded):
  records = stage1.collect(loaded, _data_cfg(loaded), "test", 3,
                           progress=False)
  langs = [r["lang"] for r in records]
  assert {l: langs.count(l) for l in set(langs)} == {
      l: 3 for l in loaded.langs}
  for r in records:
    assert r["reference"] and set(r) >= {"greedy", "beam", "given", "named",
                                         "prompt"}
    # Told the language, the decoder emits no other language's tag.
    assert {w for w in r["given"].split()
            if w in languages.BY_CODE} <= {r["lang"]}
  scores = stage1.score_records(records)
  for lang in loaded.langs:
    for d in stage1.DECODINGS:
      a = scores[lang][d]["all"]
      assert a["examples"] == 3
      assert 0.0 <= a["tag_accuracy"] <= 100.0 and a["gloss_wer"] >= 0.0
  md = stage1.to_markdown(scores)
  assert md.count("\n") == 2 + len(loaded.langs) * len(stage1.DECODINGS)


def test_scores_follow_the_predictions():
  records = [
      {"lang": "ASL", "named": True, "reference": "ASL A ASL B",
       "greedy": "ASL A ASL B", "beam": "GSL A GSL B"},
      {"lang": "ASL", "named": False, "reference": "ASL A",
       "greedy": "ASL C", "beam": "ASL A"}]
  s = stage1.score_records(records, ("greedy", "beam"))["ASL"]
  assert s["greedy"]["all"]["exact"] == 50.0
  assert s["greedy"]["all"]["gloss_wer"] == pytest.approx(100 / 3)
  assert s["beam"]["named"]["tag_accuracy"] == 0.0
  assert s["beam"]["unnamed"]["tag_accuracy"] == 100.0


def test_refuses_a_workdir_of_another_mode(tmp_path_factory):
  mlsf = workdir_lib.load_workdir(trained.trained_workdir(
      tmp_path_factory, "experiments/mlsf_cpu.py:smoke"))
  with pytest.raises(context_lib.EvaluateError, match="Prompt2LangGloss"):
    stage1.collect(mlsf, _data_cfg(mlsf), "test", 1, progress=False)


def test_end_to_end_rows_can_be_told_the_language(tmp_path_factory):
  """evaluate.p2lg_language_given: the end-to-end row's stage 1 emits only
  each example's own language tag; by default the tags are the model's."""
  from signllm_jax.evaluate import systems
  workdir = trained.trained_workdir(tmp_path_factory, P2LG)
  told = workdir_lib.load_workdir(workdir,
                                  ["evaluate.p2lg_language_given=True"])
  examples = systems.produce(told, _data_cfg(told), "test", 1,
                             progress=False)
  assert len(examples) == len(told.langs)
  for ex in examples:
    assert {w for w in ex.lang_gloss_pred.split()
            if w in languages.BY_CODE} <= {ex.lang}
