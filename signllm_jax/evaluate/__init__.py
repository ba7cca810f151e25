"""Evaluation: PT's DTW and DTW-MJE, back-translation BLEU/ROUGE, baselines.

`run.py` is the loop (load -> systems -> evaluators -> report). Modules:
context (shared types, EvaluateError), systems (the model's poses in both
timings and the baselines' poses), evaluators (the registry built from
`cfg.evals`), pose_evals (DTW / DTW-MJE, hand motion, rendering),
text_evals (back-translation, LangGloss exact match), synth_evals (the
SynthSign recogniser), dtw, text_metrics, backtranslation (the pose -> text
model's loader), baselines, motion, report (JSON + Markdown tables),
dev_generation (the trainer's free-running dev metric).
"""
