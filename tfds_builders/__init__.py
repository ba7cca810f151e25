"""Folder-style TFDS dataset builders (array_record, no TensorFlow needed).

Each subpackage holds one builder (`{name}/{name}_dataset_builder.py`, class
`Builder`); importing it registers the dataset name with TFDS, so
`tfds.data_source("{name}/{config}", data_dir=...)` finds a prepared copy.
"""
