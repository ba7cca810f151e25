"""RL loss and Priority Learning Channel ablation (issue: the paper's claim
that RL + PLC speeds up training is a hypothesis to test).

One MLSF language group (ASL by default: the groups train independently, so
one is a faithful, 8x cheaper slice of MLSF training) of the cpu-2m recipe of
experiments/mlsf_cpu.py on SynthSign small. Every run logs the free-running
dev DTW-MJE (`dev/gen_dtw_mje`) every tenth of training, and its step time.
  signllm sweep experiments/ablation_rl.py --dry_run
  signllm sweep experiments/ablation_rl.py --workdir runs
  python experiments/ablation_rl_report.py runs/ablation_rl   (the table)
  signllm sweep experiments/ablation_rl.py:smoke --workdir /tmp/abl (seconds)
Args: `smoke`, `steps=N`, `size=tiny|small`, `langs=ASL|all|ASL,GSL`.
"""

from experiments import common
from experiments import mlsf_cpu

MODES = ("mse", "rl", "rl_plc")
ETAS = (0.5, 1.0, 2.0)
SEEDS = (0, 1, 2)


def get_config(arg=None):
  args = common.parse_arg(arg, smoke=False, steps=1000, size="small",
                          langs="ASL")
  cfg = mlsf_cpu.get_config(f"steps={args['steps']},size={args['size']}")
  cfg.data.langs = args["langs"]
  # As measured (README): counter-only decoder input, the counter's own
  # timing for the dev DTW-MJE, no length head.
  cfg.model.counter_only_input = True
  cfg.model.length_head = False
  # As measured: the replayed rows on top of the 16 fresh ones (mlsf_cpu.py
  # has since moved to batch 8).
  cfg.data.batch_size = 16
  cfg.rl.replay_mix = "append"
  steps = args["steps"]
  cfg.optim.warmup_steps = min(cfg.optim.warmup_steps, max(steps // 10, 1))
  cfg.train.eval_every = max(steps // 5, 1)
  cfg.train.eval_batches = 4
  cfg.train.gen_eval_every = max(steps // 10, 1)
  cfg.train.gen_eval_per_lang = 16
  cfg.train.ckpt_every = max(steps // 2, 1)
  cfg.train.log_every = max(min(50, steps // 20), 1)
  if args["smoke"]:
    common.apply_smoke(cfg)
    cfg.train.gen_eval_every = 3
    cfg.train.gen_eval_per_lang = 4
  return cfg


def sweep(add, arg=None):
  """mode x eta x seed; eta only matters for the replay, so mse/rl run once
  per seed (15 runs)."""
  del arg
  for seed in SEEDS:
    for mode in MODES:
      etas = ETAS if mode == "rl_plc" else (1.0,)
      for eta in etas:
        add(**{"rl.mode": mode, "rl.eta": eta, "seed": seed,
               "data.shuffle_seed": seed})
