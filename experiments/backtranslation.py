"""The sign-to-text back-translator that `signllm evaluate` scores with.

Model mode "backtranslate" (signllm_jax/model/backtranslator.py): a small
Camgoz-style sign language transformer trained by the one trainer on the
ground-truth poses of the train split (normalised frames exactly as the pose
model sees them, all languages mixed in each batch). Evaluation reads the
produced poses with it and scores BLEU-1..4 / ROUGE-L against the source
sentences; ground-truth poses give the ceiling. Scores are comparable only
under one back-translator, and it must share the evaluated model's dataset
(one tokenizer): pass the same data fields.

COMMAND:
  signllm train --config experiments/backtranslation.py:cpu \\
      --workdir runs/bt_cpu --config.data.name=synth_sign \\
      --config.data.config=small --config.data.data_dir=DATA_DIR
  signllm evaluate --workdir W \\
      --config.evaluate.backtranslation_workdir=runs/bt_cpu

Args: `smoke` (tests: seconds), `quick` (the quickstart budget, about a
minute on 2 cores), `cpu` (a 2-core CPU session: ~20 minutes on small), none
(a real evaluation model, width 256: hours on CPU, minutes on a GPU);
`size=tiny|small|large` (data.config), `steps=N`. Sizes: the bt-* variants
of signllm_jax/model/variants.py.
"""

from experiments import base
from experiments import common


def get_config(arg=None):
  args = common.parse_arg(arg, smoke=False, quick=False, cpu=False,
                          size="small", steps=0)
  cfg = base.get_config()
  cfg.model.mode = "backtranslate"
  cfg.model.variant = "bt-base"
  cfg.model.dropout = 0.1
  cfg.data.config = args["size"]
  cfg.data.language_homogeneous = False
  cfg.data.too_long = "truncate"  # long clips still teach their start
  cfg.data.batch_size = 32
  cfg.optim.lr = 1e-3
  cfg.train.steps = 4000
  cfg.train.log_every = 100
  cfg.train.eval_every = 500
  cfg.train.ckpt_every = 500
  if args["quick"]:
    cfg.model.variant = "bt-quick"
    cfg.model.dropout = 0.0
    cfg.data.batch_size = 16
    cfg.data.max_frames = 128
    cfg.data.frame_buckets = (128,)
    cfg.optim.lr = 3e-3
    cfg.train.steps = 250
    cfg.train.log_every = 50
  if args["cpu"]:
    # Fits a 2-core CPU session (~0.5 s/step): width 128, 2+2 layers.
    cfg.model.variant = "bt-cpu"
    cfg.train.steps = 2000
  if args["steps"]:
    cfg.train.steps = args["steps"]
  # Validate and save at the end of a short run too.
  cfg.train.eval_every = min(cfg.train.eval_every, cfg.train.steps)
  cfg.train.ckpt_every = min(cfg.train.ckpt_every, cfg.train.steps)
  if args["smoke"]:
    common.apply_smoke(cfg)
    cfg.model.dropout = 0.0
    cfg.optim.lr = 3e-3
  return cfg
