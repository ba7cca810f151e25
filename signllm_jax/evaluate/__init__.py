"""Evaluation: PT's DTW and DTW-MJE, back-translation BLEU/ROUGE, baselines.

Modules: dtw (JAX DTW metrics), text_metrics (BLEU-1..4, ROUGE-L),
backtranslation (the pose -> text model), baselines (mean pose, nearest
neighbour, ground truth), motion (hand-motion ratio), report (JSON + Markdown
tables per language).
"""
