"""SignLLM models (Flax NNX): build_model, variants, stacked-group helpers."""

from signllm_jax.model.signllm import build_model
from signllm_jax.model.signllm import group_axis_filter
from signllm_jax.model.signllm import param_count_per_group
from signllm_jax.model.signllm import stacked_param_mask
from signllm_jax.model.variants import model_config
from signllm_jax.model.variants import VARIANTS
