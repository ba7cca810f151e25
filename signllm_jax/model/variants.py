"""Named model sizes and the complete model config.

| name       | enc+dec | D    | H  | ff   | vocab  | params / group |
|------------|---------|------|----|------|--------|----------------|
| smoke      | 1+1     | 32   | 2  | 64   | 64     | ~33 K          |
| cpu-2m     | 2+2     | 128  | 4  | 512  | 8,000  | ~1.99 M        |
| pt-base    | 2+2     | 512  | 4  | 2048 | 3,000  | ~16.4 M        |
| base-40m   | 2+2     | 512  | 4  | 2048 | 48,000 | ~39.4 M        |
| large-120m | 3+3     | 1024 | 16 | 4096 | 32,000 | ~121 M         |
| super-1b   | 8+8     | 2048 | 16 | 8192 | 32,000 | ~1.01 B        |
| bt-quick   | 1+1     | 64   | 4  | 256  | 8,000  | ~1.16 M (bt)   |
| bt-cpu     | 2+2     | 128  | 4  | 512  | 8,000  | ~3.00 M (bt)   |
| bt-base    | 2+2     | 256  | 4  | 1024 | 8,000  | ~7.83 M (bt)   |

"params / group" = one text->pose encoder-decoder (one MLSF language group,
or the shared / Prompt2LangGloss stage-2 model), as counted by
`signllm.param_count_per_group` (Prompt2LangGloss adds its stage-1 model on
top). The bt-* sizes are the back-translator's (mode "backtranslate",
experiments/backtranslation.py: quick, cpu and the default; its smoke run
uses "smoke"), counted as the whole back-translator ("(bt)").

Decisions (the paper states only "2 + 2 layers, ~40M per language" for Base
and that Base is Progressive Transformers' base model):
  * pt-base is exactly PT's base configuration with a 3,000-word vocabulary,
    the benchmark twin of the PyTorch reference (16.4 M there as well).
  * base-40m keeps PT's architecture; the ~40 M comes from the text
    vocabulary: Prompt2Sign states a 40 k vocabulary, rounded up to 48 k for a
    word/subword table (24.6 M of the 39.4 M are the embedding). With a
    smaller tokenizer the count shrinks accordingly.
  * large-120m and super-1b: widths/depths chosen here (head width 64 and
    128, ff = 4 D) to land on the names with a 32 k vocabulary.
"""

import dataclasses

import jax
import ml_collections
from flax import nnx


@dataclasses.dataclass(frozen=True)
class Variant:
  num_encoder_layers: int
  num_decoder_layers: int
  d_model: int
  num_heads: int
  d_ff: int
  vocab_size: int  # default vocabulary used for counting parameters
  nominal_params: int  # what the name promises, per group

  def __getitem__(self, name: str):
    return getattr(self, name)


VARIANTS = {
    "smoke": Variant(1, 1, 32, 2, 64, 64, 33_000),
    # Trains to a useful quality on 2 CPU cores in ~30 minutes (SynthSign).
    "cpu-2m": Variant(2, 2, 128, 4, 512, 8000, 2_000_000),
    "pt-base": Variant(2, 2, 512, 4, 2048, 3000, 16_400_000),
    "base-40m": Variant(2, 2, 512, 4, 2048, 48_000, 40_000_000),
    "large-120m": Variant(3, 3, 1024, 16, 4096, 32_000, 120_000_000),
    "super-1b": Variant(8, 8, 2048, 16, 8192, 32_000, 1_000_000_000),
    # Back-translators (pose -> text), the sizes evaluation has used.
    "bt-quick": Variant(1, 1, 64, 4, 256, 8000, 1_160_000),
    "bt-cpu": Variant(2, 2, 128, 4, 512, 8000, 3_000_000),
    "bt-base": Variant(2, 2, 256, 4, 1024, 8000, 7_830_000),
}


def model_config(variant: str = "smoke") -> ml_collections.ConfigDict:
  """The complete model config (every field build_model reads), sized: the
  model block of experiments/base.py with `variant`'s sizes."""
  from experiments import base  # pylint: disable=g-import-not-at-top
  v = get_variant(variant)
  cfg = ml_collections.ConfigDict(base.get_config().model.to_dict())
  cfg.variant = variant
  cfg.update(num_encoder_layers=v.num_encoder_layers,
             num_decoder_layers=v.num_decoder_layers,
             gloss_encoder_layers=v.num_encoder_layers,
             gloss_decoder_layers=v.num_decoder_layers,
             d_model=v.d_model, num_heads=v.num_heads, d_ff=v.d_ff)
  return cfg


# Fields that older workdirs' config.json still hold and nothing reads (the
# token ids are the tokenizer's constants): accepted and dropped.
_RETIRED = ("bos_id", "eos_id")


def resolve(model_cfg) -> ml_collections.ConfigDict:
  """The variant's complete defaults overlaid with the fields of model_cfg.

  A config may name only `variant` (sizes come from VARIANTS) or override any
  field; an unknown field is an error (typo protection).
  """
  cfg = model_config(model_cfg.get("variant", "smoke"))
  unknown = sorted(set(model_cfg.keys()) - set(cfg.keys()) - set(_RETIRED))
  if unknown:
    raise ValueError(f"unknown model config fields {unknown}; known: "
                     f"{sorted(cfg.keys())}")
  for k in model_cfg.keys():
    if k in _RETIRED:
      continue
    # None = "take the variant's value" (experiments/base.py leaves the sizes
    # unset so that `--config.model.variant=...` resizes the model).
    if model_cfg[k] is not None:
      cfg[k] = model_cfg[k]
  return cfg


def get_variant(name: str) -> Variant:
  try:
    return VARIANTS[name]
  except KeyError:
    raise ValueError(
        f"unknown model variant {name!r}; known: {sorted(VARIANTS)}") from None


def count_params(module_or_state) -> int:
  state = module_or_state
  if isinstance(module_or_state, nnx.Module):
    state = nnx.state(module_or_state, nnx.Param)
  return sum(int(x.size) for x in jax.tree.leaves(state))
