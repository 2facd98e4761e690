"""Bad input to every launcher: one `error:` line, exit status 2, no traceback, no file changed.

  python bench/bad_input.py                      # prints the table
  python bench/bad_input.py --output=docs/bad_input.md

Builds a scratch area (a finished tiny CartPole run, a user's files, broken result and
statistics files), runs each case's command in it, and checks the promise against a snapshot
of every file (path and content hash) taken before the case. Prints a Markdown table with the
command line, commit and machine that produced it; exits 1 if any case breaks the promise.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--config.dataset.size=4", "--config.student.width=8", "--config.student.bc_steps=5",
        "--config.eval.num_envs=1", "--config.eval.num_steps=20", "--config.es.population_size=4",
        "--config.es.num_generations=2", "--config.final_eval.num_students=2",
        "--config.final_eval.num_steps=20", "--progress=plain"]


def cases(s: dict[str, str]) -> list[tuple[str, list[str]]]:
  """(launcher, arguments) of every case; `s` names the scratch area's paths."""
  run, free = s["run"], s["free"]
  distill = [
      ["--task=hoper"], ["--task=no_such_pkg.tasks:thing"], ["--task=examples.custom_task:nope"],
      ["--config.es.population_size=7"], ["--config.es.population_size=abc"],
      ["--config.es.strategy=NoSuchES"], ["--config.es.strategy=GuidedES"],
      ["--config.es.sigmaa=0.1"], ["--config.dataset.size=0"], ["--config.hades.mode=Q"],
      ["--config.method=genes"], ["--config.dataset.normalization=whitened"],
      ["--config.student.activation=swish"], ["--config.student.width=0"],
      ["--config.eval.num_envs=0"],
      ["--config.hades.fitness_width=-1"], ["--config.final_eval.num_students=0"],
      ["--config.checkpoint.keep_latest=0", "--config.checkpoint.keep_best=0"],
      ["--config.es.sigma=0", "--config.es.sigma_limit=0"],
      ["--config.es.sigma_decay=0.5", "--config.es.sigma_limit=0",
       "--config.es.num_generations=200"],
      ["--config.dataset.normalization=constant", f"--config.dataset.obs_stats={s['empty']}"],
      ["--config.dataset.normalization=constant", f"--config.dataset.obs_stats={s['nan']}"],
      ["--config.dataset.normalization=constant", f"--config.dataset.obs_stats={s['negvar']}"],
      [f"--config={s['missing']}/config.py"], ["--resume=maybe"], ["--resume=must"],
      [f"--compilation_cache={s['shared_cache']}"],
  ]
  table = [("launch.distill", [f"--workdir={free}/w",
                                *([] if a[0].startswith("--task") else ["--task=cartpole"]), *a])
           for a in distill]
  table += [
      ("launch.distill", [f"--workdir={s['blocked']}/w", "--task=cartpole"]),
      ("launch.distill", [f"--workdir={run}", "--task=cartpole", *TINY,
                          "--config.es.sigma=0.5"]),  # A finished run of another config.
      ("launch.distill", [f"--workdir={run}", "--task=cartpole", *TINY, "--resume=never"]),
      ("launch.distill_all", [f"--workdir={free}/all", "--tasks="]),
      ("launch.distill_all", [f"--workdir={free}/all", "--tasks=cartpole,hoper"]),
      ("launch.evaluate", [f"--dataset={s['missing']}/dataset.npz"]),
      ("launch.evaluate", [f"--dataset={s['cut_npz']}"]),
      ("launch.evaluate", [f"--dataset={run}/cartpole/dataset.npz", "--task=hopper"]),
      ("launch.report", [f"--workdir={s['missing']}"]),
      ("launch.report", [f"--workdir={s['cut_summary']}"]),
      ("launch.train_multitask", [f"--workdir={s['missing']}"]),
      ("launch.train_multitask", [f"--workdir={s['users_multitask']}"]),
      ("launch.evaluate_transfer", [f"--workdir={run}"]),
      ("launch.render", [f"--workdir={run}", "--task=fashion_mnist"]),
      ("launch.study", [f"--workdir={free}/study", "--study=dataset_size", "--tasks=cartpole",
                        "--config.dataset.size=8"]),
      ("launch.study", [f"--workdir={free}/study", "--study=nope"]),
      ("launch.reproduce_minatar", [f"--paper_dir={s['missing']}"]),
  ]
  return table


def _npz(path: str, **arrays) -> str:
  np.savez(path, **{k: np.asarray(v, np.float32) for k, v in arrays.items()})
  return path


def scratch(root: str) -> dict[str, str]:
  """The scratch area: a finished tiny run and the broken or foreign files the cases use."""
  s = {name: os.path.join(root, name) for name in ("run", "free", "missing")}
  for name in ("free",):
    os.makedirs(s[name])
  done = subprocess.run([sys.executable, "-m", "launch.distill", f"--workdir={s['run']}",
                         "--task=cartpole", *TINY], cwd=REPO, capture_output=True, text=True)
  if done.returncode != 0:
    sys.exit(f"the scratch run failed:\n{done.stderr[-3000:]}")
  s["empty"] = os.path.join(root, "empty.npz")
  open(s["empty"], "wb").close()
  s["nan"] = _npz(os.path.join(root, "nan.npz"), obs_mean=[0, np.nan, 0, 0], obs_var=[1] * 4)
  s["negvar"] = _npz(os.path.join(root, "negvar.npz"), obs_mean=[0] * 4, obs_var=[1, -1, 1, 1])
  s["cut_npz"] = os.path.join(root, "cut.npz")
  with open(os.path.join(s["run"], "cartpole", "dataset.npz"), "rb") as f:
    whole = f.read()
  with open(s["cut_npz"], "wb") as f:
    f.write(whole[: len(whole) // 2])
  s["cut_summary"] = os.path.join(root, "cut_summary")
  shutil.copytree(s["run"], s["cut_summary"])
  summary = os.path.join(s["cut_summary"], "cartpole", "summary.json")
  with open(summary) as f:
    text = f.read()
  with open(summary, "w") as f:
    f.write(text[: len(text) // 2])
  s["users_multitask"] = os.path.join(root, "users_multitask")
  shutil.copytree(s["run"], s["users_multitask"])
  os.makedirs(os.path.join(s["users_multitask"], "multitask"))
  with open(os.path.join(s["users_multitask"], "multitask", "notes.txt"), "w") as f:
    f.write("a user's file\n")
  s["blocked"] = os.path.join(root, "a_file")
  with open(s["blocked"], "w") as f:
    f.write("not a directory\n")
  s["shared_cache"] = os.path.join(root, "shared_cache")
  os.makedirs(s["shared_cache"])
  os.chmod(s["shared_cache"], 0o777)
  return s


def snapshot(root: str) -> dict[str, str]:
  """{path: sha256} of every file under `root` but the compilation cache and the workdir locks
  (.hades-lock, which a killed process leaves behind)."""
  found = {}
  for directory, _, names in os.walk(root):
    if os.sep + "cache" in directory:
      continue
    for name in (n for n in names if n != ".hades-lock"):
      path = os.path.join(directory, name)
      with open(path, "rb") as f:
        found[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
  return found


def check(root: str, module: str, args: list[str]) -> dict:
  before = snapshot(root)
  env = dict(os.environ, PYTHONWARNINGS="ignore",
             JAX_COMPILATION_CACHE_DIR=os.path.join(root, "cache"))
  result = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  after = snapshot(root)
  changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
  problems = []
  if result.returncode != 2:
    problems.append(f"exit {result.returncode}")
  if len(errors) != 1:
    problems.append(f"{len(errors)} error lines")
  if "Traceback" in result.stderr:
    problems.append("traceback")
  if changed:
    problems.append(f"changed {changed[:3]}")
  return {"exit": result.returncode, "message": errors[0] if errors else result.stderr[-300:],
          "problems": problems}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--output", default="", help="Also write the table to this file.")
  args = parser.parse_args()
  root = tempfile.mkdtemp(prefix="hades-bad-input-")
  paths = scratch(root)
  rows, failed = [], 0
  for module, case_args in cases(paths):
    outcome = check(root, module, case_args)
    failed += bool(outcome["problems"])
    shown = " ".join(a.replace(root, "S") for a in case_args)
    message = outcome["message"].replace(root, "S").replace("|", "\\|")
    mark = "" if not outcome["problems"] else " **" + ", ".join(outcome["problems"]) + "**"
    rows.append(f"| `{module.split('.')[1]}` | `{shown}` | {outcome['exit']}{mark} | {message} |")
    print(rows[-1], flush=True)
  commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                          capture_output=True, text=True).stdout.strip() or "unknown"
  header = [
      "# Bad input: every case, its exit status and message", "",
      f"Made by `python bench/bad_input.py --output=docs/bad_input.md` at commit {commit} on "
      f"{platform.node() or 'this machine'} ({platform.machine()}, {os.cpu_count()} cores, "
      f"Python {platform.python_version()}), {datetime.date.today().isoformat()}. `S` is the "
      "scratch area: a finished tiny CartPole run in `S/run`, an empty folder `S/free`, broken "
      "files (`S/empty.npz`, `S/nan.npz`, `S/negvar.npz`, `S/cut.npz`, a cut `summary.json` in "
      "`S/cut_summary`), a user's `S/users_multitask/multitask/notes.txt`, a file `S/a_file`, a "
      "world-writable `S/shared_cache`. Each case must exit 2 with one `error:` line, no "
      "traceback, and leave every file in `S` as it was (workdir locks, `.hades-lock`, "
      "aside).", "",
      f"{len(rows)} cases, {len(rows) - failed} keep the promise.", "",
      "| launcher | arguments | exit | message |", "|---|---|---|---|"]
  text = "\n".join(header + rows) + "\n"
  if args.output:
    with open(args.output, "w") as f:
      f.write(text)
  shutil.rmtree(root)
  sys.exit(1 if failed else 0)


if __name__ == "__main__":
  main()
