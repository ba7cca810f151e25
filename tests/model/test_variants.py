"""Named variants: parameter counts per language group match their names."""

import ast
import inspect

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


@pytest.mark.parametrize("name", ["bt-quick", "bt-cpu", "bt-base"])
def test_backtranslator_param_count_matches_name(name):
  count = model_lib.param_count_per_group(name, mode="backtranslate")
  nominal = variants.VARIANTS[name].nominal_params
  assert abs(count - nominal) <= 0.1 * nominal, (name, count)
  # Two vocabulary tables (decoder embedding and logits) of D columns, plus
  # the logits bias: the text side scales with the vocabulary twice.
  bigger = model_lib.param_count_per_group(name, vocab_size=9000,
                                           mode="backtranslate")
  d = variants.VARIANTS[name].d_model
  assert bigger - count == 1000 * (2 * d + 1)


def test_variants_imports_no_model_module():
  # The parameter count lives in model/signllm.py: no import circle.
  tree = ast.parse(inspect.getsource(variants))
  imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
              for a in n.names}
  imported |= {n.module for n in ast.walk(tree)
               if isinstance(n, ast.ImportFrom)}
  assert not any(m and m.startswith("signllm_jax") for m in imported), (
      imported)


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
