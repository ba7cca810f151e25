"""state.py: the one place that defines, shards and compiles the state.

AOT (`aot.compile_for_topology`) and `signllm bench` lower
`state.lower_train_step`; the trainer runs `state.train_step` on real
batches. Both must be the same program: same rows (fresh / replayed), same
shardings, same donation.
"""

import jax
import pytest

from signllm_jax import state as state_lib
from signllm_jax import train
from signllm_jax.data import pipeline
from tests import testing

# Batch 16 with half replayed: 8 replay rows, one per data shard.
_RL = ("data.batch_size=16", "rl.replay_fraction=0.5")


@pytest.mark.parametrize("mode,mix", [("mse", "replace"), ("rl", "replace"),
                                      ("rl_plc", "replace"),
                                      ("rl_plc", "append")])
def test_aot_lowers_exactly_the_trainers_step(mode, mix):
  cfg = testing.smoke_config(f"rl.mode={mode}", f"rl.replay_mix={mix}", *_RL)
  setup = testing.build_setup(cfg, init_state=False)
  sdef = setup.sdef
  # The trainer: fresh rows from the pipeline, the RL state from a batch.
  it = pipeline.make_train_iterator(train._train_data_config(cfg, sdef),
                                    mesh=sdef.mesh)
  batch = next(it)
  assert batch["example_mask"].shape[0] == sdef.fresh_rows
  rl_abs = state_lib.abstract_rl_state(sdef, batch)
  trainer = state_lib.train_step(sdef, rl_abs).lower(sdef.abstract, rl_abs,
                                                     batch)
  aot = state_lib.lower_train_step(sdef)
  assert aot.as_text() == trainer.as_text()
  if mode == "rl_plc" and mix == "replace":
    assert sdef.fresh_rows == 8 and sdef.replay_rows == 8


def test_train_step_has_explicit_shardings_and_donates():
  cfg = testing.smoke_config("rl.mode=rl_plc", *_RL)
  sdef = testing.build_setup(cfg, init_state=False).sdef
  compiled = state_lib.lower_train_step(sdef).compile()
  state_in, rl_in, batch_in = compiled.input_shardings[0]
  state_out, rl_out, _ = compiled.output_shardings
  for want, got_in, got_out in zip(jax.tree.leaves(sdef.shardings),
                                   jax.tree.leaves(state_in),
                                   jax.tree.leaves(state_out)):
    assert got_in.is_equivalent_to(want, 2) or got_in == want
    assert got_out.is_equivalent_to(got_in, 2) or got_out == got_in
  # The replay is split over the 8 batch shards, the batch too.
  replay_leaf = jax.tree.leaves(rl_in.replay)[0]
  assert replay_leaf.spec[0] == ("data", "fsdp")
  assert all(s.spec[0] == ("data", "fsdp")
             for s in jax.tree.leaves(batch_in))
  assert jax.tree.leaves(rl_out.replay)[0].spec == replay_leaf.spec
  # State and RL state are donated: every input buffer of those two args.
  donated = compiled.as_text().count("may-alias") + compiled.as_text().count(
      "must-alias")
  assert donated >= len(jax.tree.leaves(sdef.abstract))


def test_inference_definition_has_no_optimizer():
  cfg = testing.smoke_config()
  setup = testing.build_setup(cfg, init_state=False)
  _, params = state_lib.model_def(cfg.model,
                                  vocab_size=setup.sdef.vocab_size)
  # The parameters of the training state, and nothing of the optimizer.
  assert (jax.tree.structure(params) ==
          jax.tree.structure(setup.sdef.abstract[0]))
