"""MLSF on SynthSign `small` with the CPU-sized cpu-2m variant: the model
that must beat the mean-pose and nearest-neighbour baselines after at most 30
minutes of training on a 2-core CPU (README, "Results").

COMMAND:
  signllm data build synth_sign --config small
  timeout -s TERM 1800 signllm train --config experiments/mlsf_cpu.py \
      --workdir runs/mlsf_cpu      # SIGTERM at 30 min: checkpoint and stop
  signllm train --config experiments/backtranslation.py:cpu \
      --workdir runs/bt_cpu        # the evaluator's back-translator, once
  signllm evaluate --workdir runs/mlsf_cpu --split test --max_examples 300 \
      --config.evaluate.backtranslation_workdir=runs/bt_cpu
Args: `smoke`, `steps=N`, `size=tiny|small`, `shared` (shared multilingual
model with a language embedding instead of one group per language).
"""

from experiments import base
from experiments import common


def get_config(arg=None):
  args = common.parse_arg(arg, smoke=False, steps=22000, size="small",
                          shared=False)
  cfg = base.get_config()
  cfg.model.mode = "mlsf"
  cfg.model.variant = "cpu-2m"
  cfg.model.shared_multilingual = args["shared"]
  # PT's "just counter" decoder input: measured on this recipe (README,
  # Results), full-frame input learns to copy the previous frame and its
  # free-running poses drift; counter-only input must read the text.
  cfg.model.counter_only_input = True
  # Its own timing from a length head instead of a counter threshold: with
  # counter-only input a counter error shifts the whole timeline.
  cfg.model.length_head = True
  cfg.data.config = args["size"]
  cfg.data.batch_size = 8  # the paper's (PAPER.md)
  common.apply_cpu_run(cfg, args["steps"])
  if args["smoke"]:
    common.apply_smoke(cfg)
  return cfg


def sweep(add, arg=None):
  del arg
  for shared in (False, True):
    add(**{"model.shared_multilingual": shared})
