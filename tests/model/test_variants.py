"""Named variants: parameter counts per language group match their names."""

import pytest

from signllm_jax import model as model_lib
from signllm_jax.model import variants


@pytest.mark.parametrize("name", ["cpu-2m", "pt-base", "base-40m",
                                  "large-120m", "super-1b"])
def test_param_count_per_group_matches_name(name):
  # Counted abstractly (nnx.eval_shape): super-1b is never allocated.
  count = model_lib.param_count_per_group(name)
  nominal = variants.VARIANTS[name].nominal_params
  assert abs(count - nominal) <= 0.1 * nominal, (name, count)


def test_pt_base_is_the_progressive_transformers_base():
  v = variants.VARIANTS["pt-base"]
  assert (v.num_encoder_layers, v.num_decoder_layers, v.d_model,
          v.num_heads, v.d_ff, v.vocab_size) == (2, 2, 512, 4, 2048, 3000)


def test_vocab_override_changes_only_embedding_count():
  small = model_lib.param_count_per_group("pt-base", vocab_size=1000)
  big = model_lib.param_count_per_group("pt-base", vocab_size=2000)
  assert big - small == 1000 * 512


def test_model_config_and_resolve():
  cfg = model_lib.model_config("large-120m")
  assert cfg.d_model == 1024 and cfg.mode == "mlsf"
  assert variants.get_variant("smoke")["vocab_size"] == 64
  resolved = variants.resolve(dict(variant="pt-base", dropout=0.1))
  assert resolved.d_model == 512 and resolved.dropout == 0.1
  with pytest.raises(ValueError, match="unknown model variant"):
    variants.get_variant("huge")
