"""The sign-to-text back-translation model used by `signllm evaluate`.

A small Camgoz-style sign language transformer (evaluate/backtranslation.py)
trained on the ground-truth poses of the train split; evaluation reads the
produced poses with it and scores BLEU-1..4 / ROUGE-L against the source
sentences (ground-truth poses give the ceiling).

COMMAND: evaluation trains and caches it on first use
(`{data_dir or workdir}/backtranslator/`); pick this file's variant with
  signllm evaluate --workdir W --config.evaluate.backtranslation_workdir=\
experiments/backtranslation.py:quick
or point that field at a folder written by
`signllm_jax.evaluate.train_backtranslator.train_backtranslator_workdir`.
Args: `smoke` (tests: seconds), `quick` (the quickstart budget, about a
minute on 2 cores), `cpu` (a 2-core CPU session: ~20 minutes on small), none
(a real evaluation model, width 256: hours on CPU, minutes on a GPU);
`size=tiny|small|large`, `steps=N`.

The dataset fields (data.name/config/data_dir/langs/max_text_len) are
replaced by the evaluated model's, so one tokenizer serves both.
"""

from experiments import base
from experiments import common
from signllm_jax.evaluate import backtranslation


def get_config(arg=None):
  args = common.parse_arg(arg, smoke=False, quick=False, cpu=False,
                          size="small", steps=0)
  cfg = base.get_config()
  cfg.data.config = args["size"]
  cfg.data.language_homogeneous = False
  block = backtranslation.default_config()
  block.steps = 4000
  block.batch_size = 32
  block.log_every = 100
  block.max_frames = 256
  cfg.backtranslation = block
  if args["quick"]:
    block.update(num_layers=1, width=64, heads=4, mlp=256, dropout=0.0,
                 steps=250, batch_size=16, lr=3e-3, max_frames=128)
    cfg.data.max_frames = 128
    cfg.data.frame_buckets = (128,)
  if args["cpu"]:
    # Fits a 2-core CPU session (~0.5 s/step): width 128, 2+2 layers.
    block.update(num_layers=2, width=128, heads=4, mlp=512, dropout=0.1,
                 steps=2000, batch_size=32, lr=1e-3, max_frames=128)
  if args["steps"]:
    block.steps = args["steps"]
  if args["smoke"]:
    common.apply_smoke(cfg)
    block.update(num_layers=1, width=32, heads=2, mlp=64, dropout=0.0,
                 steps=8, batch_size=8, lr=3e-3, max_frames=64)
  return cfg
