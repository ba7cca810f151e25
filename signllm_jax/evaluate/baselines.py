"""Moved to signllm_jax/baselines/ (mean_pose, retrieval, lexicon, fit); this
re-export keeps older imports working. New code imports signllm_jax.baselines.
"""

# pylint: disable=unused-import
from signllm_jax.baselines.mean_pose import GroundTruthBaseline  # noqa: F401
from signllm_jax.baselines.mean_pose import MeanPoseBaseline  # noqa: F401
from signllm_jax.baselines.retrieval import (  # noqa: F401
    NearestNeighbourBaseline)
