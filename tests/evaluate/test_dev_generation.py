"""Tests for signllm_jax.evaluate.dev_generation (the trainer's free-running
dev metric): it must score exactly what `signllm evaluate` scores."""

import jax
import numpy as np
import pytest
from flax import nnx

from signllm_jax import languages
from signllm_jax.data import pipeline
from signllm_jax.evaluate import dev_generation
from signllm_jax.evaluate import pose_evals
from signllm_jax.generate import pipeline as gen
from signllm_jax.generate import pose_decode
from tests import testing

MAX_LEN = 48


@pytest.fixture(scope="module")
def setup_and_batches():
  cfg = testing.smoke_config("data.langs=ASL,GSL")
  setup = testing.build_setup(cfg)
  batches = pipeline.make_eval_batches(cfg.data, mesh=setup.mesh,
                                       split="dev")
  return setup, batches


def test_select_batches_takes_whole_batches_up_to_the_quota(
    setup_and_batches):
  _, batches = setup_and_batches
  chosen = dev_generation.select_batches(batches, per_lang=1)
  langs = [int(np.asarray(b["lang"])[0]) for b in chosen]
  assert sorted(langs) == sorted(
      languages.lang_index(c) for c in ("ASL", "GSL"))  # one batch each
  more = dev_generation.select_batches(batches, per_lang=10**6)
  assert len(more) == len(batches)  # a big quota keeps everything
  with pytest.raises(ValueError, match="positive"):
    dev_generation.select_batches(batches, per_lang=0)


def test_scores_equal_the_evaluate_commands_definition(setup_and_batches):
  setup, batches = setup_and_batches
  chosen = dev_generation.select_batches(batches, per_lang=3)
  model, _ = nnx.merge(setup.graphdef, setup.state)
  got = dev_generation.dtw_mje_by_language(model, chosen, setup.stats,
                                           max_len=MAX_LEN)
  # Independently: generate, cut, convert and score with pose_evals.
  hyps, refs, codes = [], [], []
  for batch in chosen:
    arrays = {k: batch[k] for k in ("text", "text_mask", "lang")}
    out = jax.device_get(pose_decode.generate_pose(model, arrays,
                                                   max_len=MAX_LEN))
    host = jax.device_get(batch)
    for row in np.flatnonzero(host["example_mask"]):
      hyps.append(gen.frames_to_pose(
          out["pose"][row, :out["lengths"][row]], setup.stats))
      refs.append(gen.frames_to_pose(
          host["pose"][row, :host["length"][row]], setup.stats))
      codes.append(languages.LANG_CODES[int(host["lang"][row])])
  _, mje = pose_evals.dtw_scores(hyps, refs)
  codes = np.array(codes)
  want = {c: float(mje[codes == c].mean()) for c in ("ASL", "GSL")}
  assert set(got) == {"ASL", "GSL", "mean"}
  for c in ("ASL", "GSL"):
    assert got[c] == pytest.approx(want[c], rel=1e-5)
    assert got[c] > 0  # an untrained model is not the reference
  assert got["mean"] == pytest.approx((want["ASL"] + want["GSL"]) / 2,
                                      rel=1e-5)
