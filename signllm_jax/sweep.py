"""`signllm sweep`: an experiment file's `sweep(add)` expanded into runs.

Each point of the sweep becomes a run with a stable name, its own workdir
`{workdir}/{sweep_name}/{run_name}` and the exact `signllm train` command.
The runs are listed (`--dry_run`), printed as launch commands for a local
shell, SLURM or a TPU pod (`--emit`), or trained here one after another; a
finished run is skipped and an unfinished one resumed (by `signllm train`
itself), so re-running a sweep after a crash picks up where it stopped.
"""

import dataclasses
import hashlib
import json
import math
import os
import pathlib
import re
import shlex
import subprocess
import sys
import time
from typing import Any, Callable, Sequence, TextIO

from signllm_jax import config as config_lib

# The metrics shown in the summary table, when a run logged them.
SUMMARY_METRICS = ("train/loss", "dev/loss", "dev/mse")
DEFAULT_TRAIN_PREFIX = (sys.executable, "-m", "signllm_jax.cli")
SLURM_SCRIPT = "launch/slurm_gpu.sbatch"
TPU_SCRIPT = "launch/tpu_pod.sh"
# (env var, placeholder) for the three tpu_pod.sh arguments before CONFIG.
TPU_ARGS = (("SIGNLLM_TPU_NAME", "TPU_NAME"),
            ("SIGNLLM_TPU_ZONE", "TPU_ZONE"),
            ("SIGNLLM_TPU_TYPE", "TPU_TYPE"))
OVERRIDES_FILE = "overrides.json"
LOG_FILE = "sweep_train.log"
_MAX_NAME_CHARS = 120


class SweepError(config_lib.ConfigError):
  pass


@dataclasses.dataclass(frozen=True)
class SweepRun:
  """One point of a sweep, ready to run or launch."""
  index: int
  name: str                    # folder name: "00_model.x=True,rl.eta=0.5"
  point: dict[str, Any]        # the sweep point, keys "a.b"
  overrides: tuple[str, ...]   # "a.b=v": the point's, then the user's
  workdir: str                 # {workdir}/{sweep_name}/{name}
  spec: str                    # experiments/X.py[:ARG]
  train_steps: int             # the loaded config's train.steps

  @property
  def command(self) -> tuple[str, ...]:
    """The exact `signllm train` command line (argv) of this run."""
    return ("signllm", "train", "--config", self.spec,
            "--workdir", self.workdir,
            *(f"--config.{o}" for o in self.overrides))


def _format_value(value: Any) -> str:
  # Strings go as they are; everything else as a Python literal, which
  # config.parse_value reads back (bools, numbers, tuples, None).
  return value if isinstance(value, str) else repr(value)


def _normalise_key(key: str) -> str:
  return key.strip().removeprefix("--").removeprefix("config.")


def _sanitise(text: str) -> str:
  return re.sub(r"[^A-Za-z0-9._=,+-]+", "_", text).strip("._") or "run"


def sweep_name(spec: str) -> str:
  """'experiments/mlsf.py:smoke' -> 'mlsf_smoke'."""
  path_str, _, arg = spec.partition(":")
  stem = pathlib.PurePath(path_str).stem
  return _sanitise(f"{stem}_{arg}" if arg else stem)


def run_name(index: int, point: dict[str, Any], num_runs: int) -> str:
  """A readable, stable folder name; the index keeps names unique."""
  width = max(2, len(str(num_runs - 1)))
  body = ",".join(f"{k}={_format_value(v)}" for k, v in point.items())
  body = _sanitise(body) if body else "run"
  if len(body) > _MAX_NAME_CHARS:
    digest = hashlib.sha1(body.encode()).hexdigest()[:8]
    body = f"{body[:_MAX_NAME_CHARS - 9]}-{digest}"
  return f"{index:0{width}d}_{body}"


def _join_workdir(workdir: str | os.PathLike, *parts: str) -> str:
  # Plain string joining keeps "gs://bucket" intact (pathlib would not).
  return "/".join([str(workdir).rstrip("/"), *parts])


def expand(spec: str, overrides: Sequence[str] = (), *,
           workdir: str | os.PathLike = "workdirs/sweeps") -> list[SweepRun]:
  """One SweepRun per point of the spec's sweep(), each config validated."""
  points = config_lib.get_sweep(spec)
  if not points:
    raise SweepError(f"{spec}: sweep(add) added no points")
  user = [o.removeprefix("--").removeprefix("config.") for o in overrides]
  user_keys = {_normalise_key(o.partition("=")[0]): o for o in user}
  try:  # the user's overrides alone first, so their errors name them
    config_lib.load_config(spec, user)
  except ValueError as e:
    raise SweepError(f"{spec}: bad override: {e}") from None
  name = sweep_name(spec)
  runs = []
  for index, raw_point in enumerate(points):
    point = {_normalise_key(k): v for k, v in raw_point.items()}
    clash = sorted(set(point) & set(user_keys))
    if clash:
      raise SweepError(
          f"{spec}: override {user_keys[clash[0]]!r} sets {clash[0]!r}, "
          f"which sweep point {index} ({point}) also sets; drop the override "
          "or edit the sweep")
    run_overrides = tuple(
        [f"{k}={_format_value(v)}" for k, v in point.items()] + user)
    try:
      cfg = config_lib.load_config(spec, run_overrides)
    except ValueError as e:  # ConfigError, or a value of the wrong type
      raise SweepError(
          f"{spec}: sweep point {index} ({point}) is not a valid config: "
          f"{e}") from None
    rname = run_name(index, point, len(points))
    runs.append(SweepRun(
        index=index, name=rname, point=point, overrides=run_overrides,
        workdir=_join_workdir(workdir, name, rname), spec=spec,
        train_steps=int(cfg.train.steps)))
  return runs


# ------------------------------------------------------------ launch lines


def emit_command(run: SweepRun, emit: str) -> str:
  """The shell line that launches `run` locally, under SLURM or on a TPU."""
  flags = [f"--config.{o}" for o in run.overrides]
  if emit == "local":
    return shlex.join(run.command)
  if emit == "slurm":
    return shlex.join(["sbatch", SLURM_SCRIPT, run.spec, run.workdir, *flags])
  if emit == "tpu":
    # An unset variable becomes "$TPU_NAME" etc., left for the shell to fill.
    tpu = [shlex.quote(os.environ[var]) if os.environ.get(var)
           else f'"${placeholder}"' for var, placeholder in TPU_ARGS]
    return " ".join([TPU_SCRIPT, *tpu,
                     shlex.join([run.spec, run.workdir, *flags])])
  raise SweepError(f"unknown --emit {emit!r}; expected local, slurm or tpu")


# --------------------------------------------------------- tables, metrics


def _markdown_table(headers: Sequence[str],
                    rows: Sequence[Sequence[str]]) -> str:
  widths = [max([len(h)] + [len(r[i]) for r in rows])
            for i, h in enumerate(headers)]
  def line(cells):
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
  return "\n".join([line(headers), line(["-" * w for w in widths]),
                    *(line(r) for r in rows)])


def runs_table(runs: Sequence[SweepRun]) -> str:
  return _markdown_table(
      ["#", "name", "overrides", "workdir"],
      [[str(r.index), r.name, " ".join(r.overrides), r.workdir]
       for r in runs])


def read_metrics(path: str | os.PathLike) -> list[dict]:
  """metrics.jsonl records; a bad line is an error naming file and line."""
  records = []
  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        record = json.loads(line)
      except json.JSONDecodeError as e:
        raise SweepError(f"{path}:{lineno}: not a JSON line ({e})") from None
      if not isinstance(record, dict) or "step" not in record:
        raise SweepError(f"{path}:{lineno}: expected an object with a "
                         f"'step', got {line.strip()[:80]!r}")
      records.append(record)
  return records


def final_metrics(run_workdir: str | os.PathLike) -> dict[str, Any] | None:
  """The last value of every key in the run's metrics.jsonl (None: no file).

  Train and dev metrics are logged on separate lines, so the last line alone
  would miss one of them; "step" is the largest step logged.
  """
  path = pathlib.Path(run_workdir) / "metrics.jsonl"
  if not path.is_file():
    return None
  records = read_metrics(path)
  final: dict[str, Any] = {}
  for record in records:
    final.update(record)
  if records:
    final["step"] = max(int(r["step"]) for r in records)
  return final


def is_finished(run: SweepRun) -> bool:
  metrics = final_metrics(run.workdir)
  return bool(metrics) and int(metrics["step"]) >= run.train_steps


def _format_cell(value: Any) -> str:
  if value is None:
    return ""
  if isinstance(value, float):
    return f"{value:.4g}" if math.isfinite(value) else str(value)
  return str(value)


def summary_rows(runs: Sequence[SweepRun],
                 status: dict[int, str] | None = None) -> list[dict]:
  """One record per run: its point, status and final metrics."""
  rows = []
  for run in runs:
    metrics = final_metrics(run.workdir)
    rows.append(dict(
        index=run.index, name=run.name, workdir=run.workdir,
        point=dict(run.point), overrides=list(run.overrides),
        status=(status or {}).get(run.index, "" if metrics else "no metrics"),
        step=None if not metrics else metrics["step"],
        train_steps=run.train_steps,
        metrics={k: v for k, v in (metrics or {}).items()
                 if k not in ("step", "time")}))
  return rows


def summary_markdown(rows: Sequence[dict]) -> str:
  """Markdown: the swept values as columns, then status, step and metrics."""
  point_keys = list(dict.fromkeys(k for r in rows for k in r["point"]))
  metric_keys = [k for k in SUMMARY_METRICS
                 if any(k in r["metrics"] for r in rows)]
  headers = ["#", *point_keys, "status", "step", *metric_keys]
  table = [[str(r["index"]),
            *(_format_cell(r["point"].get(k)) for k in point_keys),
            r["status"],
            "" if r["step"] is None else f"{r['step']}/{r['train_steps']}",
            *(_format_cell(r["metrics"].get(k)) for k in metric_keys)]
           for r in rows]
  return _markdown_table(headers, table)


def write_summary(runs: Sequence[SweepRun], sweep_dir: str | os.PathLike,
                  status: dict[int, str] | None = None) -> str:
  """Writes summary.md and summary.json under sweep_dir; returns the table."""
  rows = summary_rows(runs, status)
  table = summary_markdown(rows)
  sweep_dir = pathlib.Path(sweep_dir)
  sweep_dir.mkdir(parents=True, exist_ok=True)
  (sweep_dir / "summary.md").write_text(table + "\n", encoding="utf-8")
  (sweep_dir / "summary.json").write_text(
      json.dumps(rows, indent=2, default=str) + "\n", encoding="utf-8")
  return table


# ------------------------------------------------------------- local runs


def _run_one(run: SweepRun, prefix: Sequence[str], out: TextIO) -> int:
  """Runs one training subprocess; its output goes to `out` and a log."""
  workdir = pathlib.Path(run.workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  record = dict(spec=run.spec, index=run.index, name=run.name,
                point=run.point, overrides=list(run.overrides),
                command=list(run.command))
  (workdir / OVERRIDES_FILE).write_text(
      json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
  argv = [*prefix, *run.command[1:]]  # "signllm" -> the prefix
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join(
      [str(config_lib.REPO_ROOT)]
      + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
  with open(workdir / LOG_FILE, "ab") as log:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    # Chunks, not lines: tqdm redraws with "\r" and no newline.
    while chunk := proc.stdout.read1(4096):
      log.write(chunk)
      out.write(chunk.decode("utf-8", errors="replace"))
      out.flush()
    return proc.wait()


def _log_tail(run: SweepRun, lines: int = 5) -> str:
  path = pathlib.Path(run.workdir) / LOG_FILE
  if not path.is_file():
    return ""
  tail = path.read_text(errors="replace").splitlines()[-lines:]
  return "\n".join("    " + l for l in tail)


def run_local(runs: Sequence[SweepRun], *,
              train_prefix: Sequence[str] = DEFAULT_TRAIN_PREFIX,
              out: TextIO | None = None) -> dict[int, str]:
  """Trains the runs one after another; returns {index: status}.

  Status is "done", "skipped (finished)" or "failed (exit N)". A failure is
  reported and the sweep goes on.
  """
  out = out or sys.stdout
  status = {}
  for i, run in enumerate(runs, 1):
    head = f"[sweep] run {i}/{len(runs)} {run.name}"
    if str(run.workdir).startswith("gs://"):
      raise SweepError(f"{run.workdir}: local sweep runs need a local "
                       "workdir; use --emit tpu for gs:// paths")
    if is_finished(run):
      print(f"{head}: skipped, already finished "
            f"({run.train_steps} steps in {run.workdir})", file=out)
      status[run.index] = "skipped (finished)"
      continue
    print(f"{head}: {' '.join(run.overrides) or '(no overrides)'}",
          file=out, flush=True)
    start = time.perf_counter()
    code = _run_one(run, train_prefix, out)
    took = time.perf_counter() - start
    if code == 0:
      print(f"{head}: done in {took:.0f}s", file=out)
      status[run.index] = "done"
    else:
      print(f"{head}: FAILED (exit {code}) after {took:.0f}s; log: "
            f"{pathlib.Path(run.workdir) / LOG_FILE}\n{_log_tail(run)}",
            file=out)
      status[run.index] = f"failed (exit {code})"
  return status


def run_sweep(spec: str, *, workdir: str | os.PathLike = "workdirs/sweeps",
              dry_run: bool = False, emit: str = "",
              overrides: Sequence[str] = (),
              train_prefix: Sequence[str] = DEFAULT_TRAIN_PREFIX,
              out: TextIO | None = None) -> int:
  """The `signllm sweep` command; returns the exit code.

  `train_prefix` replaces `signllm` in each run's command (tests pass a fake
  trainer script).
  """
  out = out or sys.stdout
  try:
    runs = expand(spec, overrides, workdir=workdir)
    if dry_run or emit:
      if dry_run:
        print(f"{len(runs)} runs of {spec} under "
              f"{_join_workdir(workdir, sweep_name(spec))}:", file=out)
        print(runs_table(runs), file=out)
      if emit:
        if emit == "tpu" and not str(workdir).startswith("gs://"):
          print("# note: tpu_pod.sh wants a gs:// --workdir shared by all "
                "workers", file=sys.stderr)
        for run in runs:
          print(emit_command(run, emit), file=out)
      return 0
    status = run_local(runs, train_prefix=train_prefix, out=out)
    sweep_dir = pathlib.Path(_join_workdir(workdir, sweep_name(spec)))
    table = write_summary(runs, sweep_dir, status)
  except config_lib.ConfigError as e:
    print(f"signllm sweep: error: {e}", file=sys.stderr)
    return 2
  failed = [r.name for r in runs if status[r.index].startswith("failed")]
  print(f"\n{table}\n\nsummary: {sweep_dir / 'summary.md'}", file=out)
  if failed:
    print(f"[sweep] {len(failed)} of {len(runs)} runs failed: "
          f"{', '.join(failed)}", file=out)
    return 1
  return 0
