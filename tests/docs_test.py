"""The README is a manual: short, every relative link resolves, nothing only we have."""

import ast
import json
import os
import re

import numpy as np

from conftest import REPO

LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def _pages():
  yield os.path.join(REPO, "README.md")
  for root, _, names in os.walk(os.path.join(REPO, "docs")):
    for name in names:
      if name.endswith(".md"):
        yield os.path.join(root, name)


def test_readme_is_a_manual_of_at_most_300_lines():
  with open(os.path.join(REPO, "README.md")) as f:
    text = f.read()
  assert len(text.splitlines()) <= 300
  assert not re.search(r"\b[0-9a-f]{7,40}\b", text), "a commit hash in the README"


def test_every_relative_link_resolves_and_nothing_points_at_our_shared_folder():
  broken = []
  for page in _pages():
    with open(page) as f:
      text = f.read()
    assert "../shared" not in text, page
    for target, _ in LINK.findall(text):
      if "://" in target or target.startswith("mailto:"):
        continue
      if not os.path.exists(os.path.join(os.path.dirname(page), target)):
        broken.append(f"{os.path.relpath(page, REPO)} -> {target}")
  assert not broken, broken


def _defined_flags(tree: ast.AST, helpers: dict[str, set[str]]) -> set[str]:
  """Flag names a module defines: `*.DEFINE_*("name", ...)` calls, plus the flags of the
  `helpers` ({function name: flags}) it calls."""
  names = set()
  for node in ast.walk(tree):
    if not isinstance(node, ast.Call):
      continue
    attribute = getattr(node.func, "attr", getattr(node.func, "id", ""))
    if attribute.startswith("DEFINE_") and node.args and isinstance(node.args[0], ast.Constant):
      names.add(node.args[0].value)
    names |= helpers.get(attribute, set())
  return names


def _launcher_flags() -> tuple[dict[str, set[str]], set[str]]:
  """({launcher: its own flags and --config}, the run flags of `common.define_run_flags`)."""
  with open(os.path.join(REPO, "launch", "common.py")) as f:
    common = ast.parse(f.read())
  functions = {node.name: node for node in common.body if isinstance(node, ast.FunctionDef)}
  helpers: dict[str, set[str]] = {}
  for name in ("define_resume_flag", "define_progress_flag", "define_distributed_flags",
               "define_run_flags", "define_config"):  # Callees first.
    helpers[name] = _defined_flags(functions[name], helpers)
  launchers = {}
  for name in sorted(os.listdir(os.path.join(REPO, "launch"))):
    if not name.endswith(".py") or name in ("__init__.py", "common.py"):
      continue
    with open(os.path.join(REPO, "launch", name)) as f:
      tree = ast.parse(f.read())
    own = dict(helpers, define_run_flags=set())  # The run flags are documented once, shared.
    launchers[name[:-3]] = _defined_flags(tree, own)
  return launchers, helpers["define_run_flags"]


def test_the_cli_reference_lists_every_flag_of_every_launcher_and_no_other():
  with open(os.path.join(REPO, "docs", "cli.md")) as f:
    text = f.read()
  sections = dict(re.findall(r"^## launch\.(\w+)\n(.*?)(?=^## |\Z)", text, re.M | re.S))
  launchers, run_flags = _launcher_flags()
  assert set(sections) == set(launchers)
  row = re.compile(r"^\| `--(?:\[no\])?(\w+)` \|", re.M)
  shared = text[text.index("## Shared flags"):text.index("## launch.")]
  assert set(row.findall(shared)) == run_flags | {"compilation_cache"}
  for launcher, defined in launchers.items():
    documented = row.findall(sections[launcher])
    assert set(documented) == defined, launcher
    assert documented == sorted(documented), f"{launcher}: rows not in alphabetical order"


def _results_module():
  import importlib.util

  spec = importlib.util.spec_from_file_location("bench_results",
                                                os.path.join(REPO, "bench", "results.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_the_readme_results_table_is_the_one_of_docs_results():
  results = _results_module()
  with open(os.path.join(REPO, "README.md")) as f:
    readme = f.read()
  with open(os.path.join(REPO, "docs", "results.md")) as f:
    page = f.read()
  start, end = readme.index(results.BEGIN), readme.index(results.END)
  table = readme[start + len(results.BEGIN):end].strip()
  assert table.startswith("| task |") and table in page
  assert "`python bench/results.py --workdir=W` at commit" in page


def test_the_results_page_is_built_from_the_runs_summaries(tmp_path):
  results = _results_module()
  per_task = {"ant": ([100.0, 800.0], 475.7), "hopper": ([1600.0, 1700.0], 80.0),
              "walker2d": ([1200.0, 1230.0], 250.0)}
  job = {"tasks": {}, "wall_time": 1350.0}
  for task, (students, zero) in per_task.items():
    os.makedirs(tmp_path / task)
    (tmp_path / task / "summary.json").write_text(json.dumps(
        {"generations": 50, "wall_time": 450.0, "return_mean": float(np.mean(students)),
         "return_std": float(np.std(students)), "per_student": students}))
    (tmp_path / task / "config.json").write_text(json.dumps(
        {"es": {"population_size": 32}, "dataset": {"size": 4}}))
    job["tasks"][task] = {"zero_dataset_return": zero}
  (tmp_path / "summary.json").write_text(json.dumps(job))
  rows, total = results.read_rows(str(tmp_path))
  table = results.table(rows, total)
  assert "| ant | 50 (32) | 7m30s | 450.0 +- 350.0 (100 to 800) | 475.7 |" in table
  assert "| hopper | 50 (32) | 7m30s | **1650.0 +- 50.0 (1600 to 1700)** | 80.0 |" in table
  assert "**22.5 min**" in table
  page = results.page(rows, total, "abc1234", "a machine", "2026-12-05")
  assert "at commit abc1234, 2026-12-05, on a machine" in page
  assert "Not better than the all-zero dataset it starts from: ant" in page
  readme = tmp_path / "README.md"
  readme.write_text(f"top\n{results.BEGIN}\n| old |\n{results.END}\nbottom\n")
  results.replace_readme_table(str(readme), table)
  assert readme.read_text() == f"top\n{results.BEGIN}\n{table}\n{results.END}\nbottom\n"
