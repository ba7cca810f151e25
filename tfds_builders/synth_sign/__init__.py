"""synth_sign: the synthetic multilingual sign corpus as a TFDS dataset."""

from tfds_builders.synth_sign.synth_sign_dataset_builder import Builder
