"""The README: its two set-up commands and .ci/run must not drift apart;
it stays short and its links to docs/ resolve."""

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
  # .ci/run may prepare the machine first (system packages); its last
  # command is the README's test command, verbatim.
  ci = (conftest.REPO_ROOT / ".ci" / "run").read_text().splitlines()
  commands = [l for l in ci if l.strip() and not l.lstrip().startswith("#")]
  assert commands[-1] == _setup_commands()[1]
  assert sum(_setup_commands()[1] in l for l in ci) == 1


README_MAX_LINES = 200  # a newcomer reads it in five minutes


def test_readme_is_short():
  lines = (conftest.REPO_ROOT / "README.md").read_text().splitlines()
  assert len(lines) <= README_MAX_LINES, (
      f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move "
      "results and history to docs/RESULTS.md")


def test_every_docs_link_in_the_readme_exists():
  text = (conftest.REPO_ROOT / "README.md").read_text()
  links = set(re.findall(r"\(?(docs/[\w./-]+?\.(?:md|png))", text))
  assert "docs/RESULTS.md" in links
  missing = sorted(l for l in links
                   if not (conftest.REPO_ROOT / l).is_file())
  assert not missing, f"README links to missing files: {missing}"


def test_readme_picture_is_small():
  for png in (conftest.REPO_ROOT / "docs").glob("*.png"):
    assert png.stat().st_size < 300_000, png
