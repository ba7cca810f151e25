"""The example schema as TFDS features, shared by every builder."""

import numpy as np
import tensorflow_datasets as tfds

from signllm_jax import skeleton


def example_features() -> tfds.features.FeaturesDict:
  """Text fields, pose [T,50,3] in the internal convention, sign spans."""
  j = skeleton.NUM_JOINTS
  return tfds.features.FeaturesDict({
      "id": tfds.features.Text(),
      "lang": tfds.features.Text(),
      "text": tfds.features.Text(),
      "gloss": tfds.features.Text(),
      "lang_gloss": tfds.features.Text(),
      "prompt": tfds.features.Text(),
      # Plain Tensors: custom pose features cannot be read by data_source.
      "pose": tfds.features.Tensor(shape=(None, j, 3), dtype=np.float32),
      "spans": tfds.features.Tensor(shape=(None, 2), dtype=np.int32),
      "sign_ids": tfds.features.Tensor(shape=(None,), dtype=np.int32),
      "signer": tfds.features.Scalar(dtype=np.int32),
  })
