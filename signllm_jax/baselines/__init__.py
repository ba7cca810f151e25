"""Pose producers that need no trained model (pure numpy, but `fit`).

Shared by evaluate/ (the baseline rows of every table), generate/
(`signllm generate --backend lexicon|retrieval`) and serve/, so it imports
none of them:

- `mean_pose`: the mean training frame, repeated; the ground truth itself.
- `retrieval`: the training pose of the most similar training text.
- `lexicon`: a sentence as the isolated signs of its glosses, joined.
- `fit`: all three fitted per language from a dataset's train split.
"""
