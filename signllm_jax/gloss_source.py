"""A trained Prompt2LangGloss stage 1 that a stage-2 run adopts ("apart").

Prompt2LangGloss trains its two stages jointly (model.p2lg_stage="joint")
or apart: a `p2lg_stage="gloss"` run trains stage 1 (prompt -> LangGloss)
alone, and a `p2lg_stage="pose"` run naming that workdir in
model.gloss_workdir trains stage 2 (LangGloss -> pose) with the adopted
stage 1 frozen inside it. Before anything is built, `adopt` copies stage 1's
architecture fields into the run's config (so the run's own config.json
rebuilds it for inference) and checks that both runs share the width and the
SentencePiece vocabulary; after the fresh state exists, train.py copies the
weights in (state.install_params). From then on they live in the run's
checkpoints, so the workdir is self-contained and `signllm evaluate` /
`generate --prompt` run the whole chain. `assets/gloss_source.json` records
where stage 1 came from.
"""

import pathlib

from signllm_jax import workdir as workdir_lib
from signllm_jax.model import variants

# Stage 1's own architecture fields, copied from the source run.
FIELDS = ("gloss_encoder_layers", "gloss_decoder_layers")
# Sizes stage 1 shares with stage 2 (model/signllm.py): they must agree.
SHARED = ("d_model", "num_heads", "d_ff")
RECORD = "gloss_source.json"


class GlossSourceError(ValueError):
  pass


def adopt(cfg, tokenizer):
  """The loaded stage-1 workdir (workdir.LoadedWorkdir), with its FIELDS
  written into cfg.model; None when the run names none."""
  m = cfg.model
  src_dir = m.get("gloss_workdir", "")
  if not src_dir:
    return None
  if m.mode != "p2lg" or m.p2lg_stage != "pose":
    raise GlossSourceError(
        "model.gloss_workdir gives a trained stage 1 to a Prompt2LangGloss "
        "stage-2 run: it needs model.mode=p2lg and model.p2lg_stage=pose "
        f"(this run: mode={m.mode!r}, p2lg_stage={m.p2lg_stage!r})")
  try:
    loaded = workdir_lib.load_workdir(src_dir)
  except workdir_lib.WorkdirError as e:
    raise GlossSourceError(f"model.gloss_workdir: {e}") from None
  src = loaded.cfg.model
  if loaded.mode != "p2lg" or src.p2lg_stage == "pose":
    raise GlossSourceError(
        f"model.gloss_workdir={src_dir} holds no trained stage 1 (mode "
        f"{loaded.mode!r}, p2lg_stage {src.get('p2lg_stage')!r}): train one "
        "with model.p2lg_stage=gloss (or joint)")
  if loaded.tokenizer != tokenizer:
    raise GlossSourceError(
        f"the stage 1 in {src_dir} reads another SentencePiece vocabulary "
        "than this run's dataset: train both stages on the same dataset")
  for field in FIELDS:
    m[field] = int(src[field])
  mine, theirs = variants.resolve(m), variants.resolve(src)
  for field in SHARED:
    if int(mine[field]) != int(theirs[field]):
      raise GlossSourceError(
          f"model.{field}: stage 1 in {src_dir} has {theirs[field]}, this "
          f"run {mine[field]}; the two stages share it (model/signllm.py)")
  return loaded


def record(workdir: pathlib.Path, loaded) -> None:
  """assets/gloss_source.json: where the stage-1 weights came from."""
  workdir_lib.record_source(
      workdir, RECORD, loaded, p2lg_stage=loaded.cfg.model.p2lg_stage,
      **{f: int(loaded.cfg.model[f]) for f in FIELDS})
