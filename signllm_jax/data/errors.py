"""The one exception type for malformed data files.

Every reader in `signllm_jax.data` raises `FormatError` (a `ValueError`) for
bad input, with a message that names the file, the line (1-based) and, where
it applies, the frame and value index, then says what is wrong.
"""

import os


class FormatError(ValueError):
  """A data file is malformed; the message says where and what."""

  def __init__(self, problem: str, *, path: str | os.PathLike | None = None,
               line: int | None = None, frame: int | None = None,
               value: int | None = None):
    self.problem = problem
    self.path = None if path is None else os.fspath(path)
    self.line = line
    self.frame = frame
    self.value = value
    where = []
    if self.path is not None:
      where.append(self.path)
    if line is not None:
      where.append(f"line {line}")
    if frame is not None:
      where.append(f"frame {frame}")
    if value is not None:
      where.append(f"value {value}")
    super().__init__(f"{', '.join(where)}: {problem}" if where else problem)


class ConventionError(FormatError):
  """The declared value convention contradicts what the file contains."""
