"""What a builder needs for TFDS to write a split in bounded memory.

A streaming `_generate_examples` is not enough on its own: with shuffling
disabled TFDS's writer (`tensorflow_datasets.core.shuffle.Shuffler`) keeps up
to `MAX_MEM_BUFFER_SIZE` (1 GB) of serialised examples in memory, then
spills them to 1000 bucket files chosen by the key's top bits and reads each
bucket back whole. So a builder (1) lowers that buffer, (2) spreads its keys
over [0, 2**128) in generation order (`spread_key`), or every small key lands
in bucket 0 and the whole split is read back at once, and (3) without
TensorFlow, lets the spill use plain files (TFDS spills through
`tf.io.gfile`).
"""

import contextlib
import importlib.util
import os
import types

from tensorflow_datasets.core import shuffle as tfds_shuffle

# Serialised bytes TFDS may buffer before it spills to its bucket files.
DEFAULT_BUFFER_BYTES = 64 << 20
KEY_SPACE = 2**128


def spread_key(index: int, total: int) -> int:
  """Key of item `index` of `total`: increasing, spread over [0, 2**128)."""
  if not 0 <= index < max(total, 1):
    raise ValueError(f"key index {index} outside [0, {total})")
  return index * (KEY_SPACE // max(total, 1))


class _ResourceExhaustedError(Exception):
  """Never raised; stands in for tf.errors.ResourceExhaustedError."""


@contextlib.contextmanager
def bounded_writer(buffer_bytes: int = DEFAULT_BUFFER_BYTES):
  """TFDS's writer buffers at most `buffer_bytes`, spilling to local files."""
  saved_size, saved_tf = tfds_shuffle.MAX_MEM_BUFFER_SIZE, tfds_shuffle.tf
  tfds_shuffle.MAX_MEM_BUFFER_SIZE = int(buffer_bytes)
  if importlib.util.find_spec("tensorflow") is None:
    # The buckets are local temporary files: plain `open` serves.
    gfile = types.SimpleNamespace(
        GFile=open, exists=os.path.exists, remove=os.remove)
    tfds_shuffle.tf = types.SimpleNamespace(
        io=types.SimpleNamespace(gfile=gfile),
        errors=types.SimpleNamespace(
            ResourceExhaustedError=_ResourceExhaustedError))
  try:
    yield
  finally:
    tfds_shuffle.MAX_MEM_BUFFER_SIZE = saved_size
    tfds_shuffle.tf = saved_tf
