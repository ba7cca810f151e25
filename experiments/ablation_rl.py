"""RL loss and Priority Learning Channel ablation (issue: the paper's claim
that RL + PLC speeds up training is a hypothesis to test).

MLSF, cpu-2m variant, SynthSign small, CPU-sized. One run per point:
  signllm sweep experiments/ablation_rl.py --dry_run
  signllm sweep experiments/ablation_rl.py --workdir runs/ablation_rl
  signllm sweep experiments/ablation_rl.py:smoke --workdir /tmp/abl  (seconds)
Args: `smoke`, `steps=N`, `size=tiny|small`, `langs=all|ASL,...`.
"""

from experiments import base
from experiments import common

MODES = ("mse", "rl", "rl_plc")
ETAS = (0.5, 1.0, 2.0)
SEEDS = (0, 1, 2)


def get_config(arg=None):
  args = common.parse_arg(arg, smoke=False, steps=3000, size="small",
                          langs="all")
  cfg = base.get_config()
  cfg.model.mode = "mlsf"
  cfg.model.variant = "cpu-2m"
  cfg.data.config = args["size"]
  cfg.data.langs = args["langs"]
  cfg.data.batch_size = 16
  cfg.data.max_frames = 128
  cfg.data.frame_buckets = (128,)
  cfg.train.steps = args["steps"]
  cfg.train.eval_every = max(args["steps"] // 10, 1)
  cfg.train.eval_batches = 16
  cfg.train.ckpt_every = max(args["steps"] // 5, 1)
  cfg.train.log_every = 50
  if args["smoke"]:
    common.apply_smoke(cfg)
  return cfg


def sweep(add, arg=None):
  """mode x eta x seed; eta only matters for the replay, so mse/rl run once
  per seed."""
  del arg
  for seed in SEEDS:
    for mode in MODES:
      etas = ETAS if mode == "rl_plc" else (1.0,)
      for eta in etas:
        add(**{"rl.mode": mode, "rl.eta": eta, "seed": seed,
               "data.shuffle_seed": seed})
