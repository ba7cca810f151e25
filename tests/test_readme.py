"""The README's two set-up commands and .ci/run must not drift apart."""

import re

from tests import conftest


def _setup_commands():
  text = (conftest.REPO_ROOT / "README.md").read_text()
  block = re.search(r"```(?:bash|sh)?\n(.*?)```", text, re.S)
  assert block, "README must start with a code block of set-up commands"
  lines = [l for l in block.group(1).splitlines()
           if l.strip() and not l.lstrip().startswith("#")]
  return lines


def test_readme_starts_with_exactly_two_commands():
  lines = _setup_commands()
  assert len(lines) == 2, lines
  assert "signllm quickstart" in lines[0]
  assert "pytest" in lines[1]


def test_ci_runs_the_readme_test_command():
  ci = (conftest.REPO_ROOT / ".ci" / "run").read_text().splitlines()
  commands = [l for l in ci if l.strip() and not l.startswith("#")
              and not l.startswith(("set ", "cd "))]
  assert commands == [_setup_commands()[1]]
