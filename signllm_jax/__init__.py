"""signllm_jax: multilingual sign language production (SignLLM) in JAX/Flax NNX."""

__version__ = "0.1.0"
