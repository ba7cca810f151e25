"""prompt2sign: the user's local Prompt2Sign data as a TFDS dataset."""

from tfds_builders.prompt2sign.prompt2sign_dataset_builder import Builder
from tfds_builders.prompt2sign.prompt2sign_dataset_builder import build
from tfds_builders.prompt2sign.prompt2sign_dataset_builder import config_name
