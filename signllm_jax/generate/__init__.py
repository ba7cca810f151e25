"""Generation: cached pose decoding and LangGloss (stage 1) decoding."""

from signllm_jax.generate.gloss_decode import beam_search
from signllm_jax.generate.gloss_decode import greedy_decode
from signllm_jax.generate.pose_decode import generate_pose
