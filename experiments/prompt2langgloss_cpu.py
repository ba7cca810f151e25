"""Prompt2LangGloss on SynthSign `small` on a 2-core CPU: prompt -> LangGloss
(stage 1) -> pose (stage 2), both stages trained jointly in at most 30
minutes (README, "Prompt2LangGloss").

Stage 2 is one shared LangGloss -> pose model (the language tags inside the
LangGloss select behaviour, so batches mix languages), sized and trained as
experiments/mlsf_cpu.py's groups (cpu-2m, counter-only input, length head,
cosine schedule) so the two modes compare on the same footing. Stage 1 is
an encoder-decoder of the same width (1 + 1 layers: copying tags and
glosses out of a templated prompt is a small task; measured in the README).

COMMAND:
  signllm data build synth_sign --config small
  timeout -s TERM 1800 signllm train \
      --config experiments/prompt2langgloss_cpu.py --workdir runs/p2lg_cpu
  signllm evaluate --workdir runs/p2lg_cpu --split test --max_examples 300 \
      --config.evaluate.backtranslation_workdir=runs/bt_cpu
Args: `smoke`, `steps=N`, `size=tiny|small`, `stage=joint|gloss|pose`
(`gloss` / `pose` train one stage only: the apart arm of the comparison).
"""

from experiments import base
from experiments import common


def get_config(arg=None):
  args = common.parse_arg(arg, smoke=False, steps=22000, size="small",
                          stage="joint")
  cfg = base.get_config()
  cfg.model.mode = "p2lg"
  cfg.model.p2lg_stage = args["stage"]
  cfg.model.variant = "cpu-2m"
  cfg.model.gloss_encoder_layers = 1
  cfg.model.gloss_decoder_layers = 1
  # As experiments/mlsf_cpu.py (measured there): counter-only decoder input
  # and a length head for the model's own timing.
  cfg.model.counter_only_input = True
  cfg.model.length_head = True
  cfg.data.config = args["size"]
  cfg.data.language_homogeneous = False  # one shared stage-2 model
  cfg.data.batch_size = 8
  # SynthSign prompts are at most ~60 tokens and LangGlosses ~20 (4 signs
  # with tags); shorter rows are cheaper steps.
  cfg.data.max_prompt_len = 80
  cfg.data.max_gloss_len = 32
  cfg.generate.max_gloss_len = 32
  common.apply_cpu_run(cfg, args["steps"])
  if args["smoke"]:
    common.apply_smoke(cfg)
  return cfg


def sweep(add, arg=None):
  del arg
  for weight in (0.5, 1.0, 2.0):
    add(**{"model.gloss_loss_weight": weight})
