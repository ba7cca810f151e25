"""Metrics to TensorBoard event files and JSON lines, and the console bar."""

import json
import logging
import pathlib
import sys
import time

import tqdm

log = logging.getLogger(__name__)


class MetricsWriter:
  """Writes `metrics.jsonl` and TensorBoard events under the workdir."""

  def __init__(self, workdir: str | pathlib.Path, *, enabled: bool = True):
    self.enabled = enabled
    self._tb = None
    self._jsonl = None
    if not enabled:
      return
    workdir = pathlib.Path(workdir)
    path = workdir / "metrics.jsonl"
    # A run killed mid-write leaves a partial last line: end it, so that the
    # resumed run's records stay one per line.
    partial = False
    if path.exists() and path.stat().st_size:
      with open(path, "rb") as f:
        f.seek(-1, 2)
        partial = f.read(1) != b"\n"
    self._jsonl = open(path, "a", encoding="utf-8")
    if partial:
      self._jsonl.write("\n")
    try:
      import tensorboardX  # pylint: disable=import-outside-toplevel
      self._tb = tensorboardX.SummaryWriter(str(workdir / "tensorboard"))
    except ImportError:  # optional; JSON lines always work
      self._tb = None

  def write_scalars(self, step: int, scalars: dict[str, float]) -> None:
    if not self.enabled:
      return
    record = {"step": int(step), "time": time.time(),
              **{k: float(v) for k, v in scalars.items()}}
    self._jsonl.write(json.dumps(record) + "\n")
    self._jsonl.flush()
    if self._tb is not None:
      for k, v in scalars.items():
        self._tb.add_scalar(k, float(v), int(step))

  def write_text(self, tag: str, text: str, step: int) -> None:
    if self.enabled and self._tb is not None:
      self._tb.add_text(tag, text, int(step))

  def close(self) -> None:
    if self._jsonl is not None:
      self._jsonl.close()
      self._jsonl = None
    if self._tb is not None:
      self._tb.close()
      self._tb = None


def progress(total: int, initial: int = 0, *, enabled: bool = True,
             desc: str = "train") -> tqdm.tqdm:
  return tqdm.tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True,
                   disable=not enabled, file=sys.stderr, mininterval=1.0)


def read_jsonl(path: str | pathlib.Path) -> list[dict]:
  """The records of a metrics.jsonl, in file order.

  A resumed run logs again the steps after its checkpoint: where a step
  appears twice, the later record is the one of the surviving run. A line
  cut short by a killed run is skipped with a warning naming it.
  """
  records = []
  with open(path, encoding="utf-8") as f:
    for i, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        records.append(json.loads(line))
      except json.JSONDecodeError as e:
        log.warning("%s:%d: skipping an unreadable metrics line (%s)", path,
                    i, e)
  return records
