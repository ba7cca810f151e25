"""pose_lexicon: a folder of `.pose` files plus an index CSV as a dataset."""

from tfds_builders.pose_lexicon.pose_lexicon_dataset_builder import Builder
from tfds_builders.pose_lexicon.pose_lexicon_dataset_builder import build
