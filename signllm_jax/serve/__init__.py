"""`signllm serve --workdir W`: a local web app over a trained workdir.

Install: `pip install -e ".[serve]"` (FastAPI + uvicorn). Run:
`signllm serve --workdir W [--host 127.0.0.1 --port 8000]`, open
http://127.0.0.1:8000/.

Why FastAPI + uvicorn and not Gradio: what is needed is a small JSON API and
one static page; Gradio is heavy (many dependencies, a large front-end
bundle) and its assets are not ours to audit. The page (static/index.html,
app.js, style.css) is written here, with no third-party JS/CSS and nothing
fetched from the internet: it works offline.

Modules: service.py (loads the workdir once, compiles with one warm-up
request, one lock around the model, results kept for download),
references.py (the baselines of signllm_jax/baselines/, retrieval and
lexicon, and the test-split ground truth),
app.py (`create_app`: routes and error mapping), command.py (the CLI
handler).

JSON API (also served as text at GET /docs: static/api.md; FastAPI's
Swagger/ReDoc pages are off because they load assets from a CDN):

  GET  /info      {"mode": "mlsf"|"p2lg", "input": "text"|"prompt",
                   "langs": [{"code", "name", "spoken"}], "lang_required",
                   "backends": ["model", "retrieval", "lexicon"],
                   "baselines", "ground_truth": bool,
                   "examples": {lang: [text]},
                   "limits": {"max_tokens", "max_chars", "max_frames",
                   "max_queue"}, "fps", "timing", "downloads", "notes",
                   "skeleton": {"joints": 50, "bones", "groups", "names"},
                   "warmup_s", "model", "workdir"}
  POST /generate  {"text": str (MLSF) | "prompt": str (P2LG),
                   "lang": code (MLSF: required; P2LG: optional hint),
                   "backend": "model" (default) | "retrieval" |
                   "lexicon"}
               ->  {"id", "mode", "backend", "text"|"prompt", "lang",
                   "lang_gloss" (P2LG: the decoded LangGloss, else null),
                   "frames": [T][50][3] (internal convention, skeleton
                   units, x right, y down; null = missing joint),
                   "length", "lengths": {system: T}, "fps", "label",
                   "note", "truncated", "timing": {"mode", "queue_s",
                   "generate_s", "total_s"}, "downloads": {fmt: url},
                   "others": [panel] (the baselines; the model too when
                   backend is a baseline), "skipped": [{"name", "label",
                   "reason"}] (systems with nothing for this input, e.g.
                   no word known to the lexicon), "ground_truth": panel |
                   null}
                   panel = {"name", "label", "frames", "length", "note",
                   "downloads"}
  GET  /download/{id}.{pose|skels|mp4}[?system=model|retrieval|lexicon|
                   ground_truth]   the file (generate/writers.py)

Errors: 4xx with {"error": message}: 400 bad input (empty text, unknown or
untrained language, wrong field for the mode, unknown backend, a backend
with nothing for the input), 413 text over the model's token limit, 404
unknown result, format or path, 422 a malformed body, 503 too many
requests waiting.
"""
