"""End-to-end test of `signllm quickstart` with a very small override set.

The workdir is a copy of the shared smoke-trained one (already at its last
step, so the train stage is reused, not repeated) and the back-translator
the quickstart trains is the smoke one: the test covers the stages'
wiring, not the budgets (measured separately, see the quickstart docs).
"""

import argparse

from signllm_jax import languages
from signllm_jax import quickstart
from tests import trained


def test_quickstart_end_to_end(tmp_path_factory, tmp_path, capsys,
                               monkeypatch):
  monkeypatch.setattr(quickstart, "QUICK_BACKTRANSLATION",
                      "experiments/backtranslation.py:smoke")
  src = trained.trained_workdir(tmp_path_factory, "experiments/mlsf.py:smoke")
  workdir = trained.copy_workdir(src, tmp_path / "qs")
  data_dir = trained.tiny_data_dir(tmp_path_factory)
  args = argparse.Namespace(workdir=str(workdir), data_dir=str(data_dir),
                            config="experiments/mlsf.py:smoke")
  overrides = trained.smoke_overrides(data_dir) + ["evaluate.max_examples=1"]
  assert quickstart.run(args, overrides) == 0
  out = capsys.readouterr().out
  # No back-translator given: the quickstart trains its own, saying so.
  assert "back-translator: training experiments/backtranslation.py:smoke" \
      in out
  assert (workdir / "backtranslator" / "checkpoints").is_dir()
  for n in range(1, 5):
    assert f"=== [{n}/4]" in out
  assert "already built" in out
  assert f"already trained to step {trained.SMOKE_STEPS}" in out
  assert "Stage times:" in out
  for lang in languages.LANG_CODES:
    assert f"### {lang}" in out
  assert (workdir / "generated" / "generated.skels").exists()
  assert len(list((workdir / "generated").glob("*.gif"))) == 8
  assert (workdir / "eval_test.md").read_text() in out
  assert len(list((workdir / "samples").glob("*.gif"))) == 8


def test_latest_step(tmp_path):
  assert quickstart._latest_step(tmp_path) == 0
  for step in (3, 12):
    (tmp_path / "checkpoints" / str(step)).mkdir(parents=True)
    (tmp_path / "checkpoints" / str(step) / "_CHECKPOINT_METADATA").touch()
  (tmp_path / "checkpoints" / "15.orbax-checkpoint-tmp").mkdir()
  (tmp_path / "checkpoints" / "20").mkdir()  # unfinished: no metadata
  assert quickstart._latest_step(tmp_path) == 12
