"""Memory and speed of one generation against es.candidates_per_chunk (the cost of chunking).

  python bench/chunk_memory.py                      # popsize 2048, CPU-default student
  python bench/chunk_memory.py --config=hades/configs/paper.py --no-time   # paper student

For each chunk size (a fresh process each, so peak RSS is that run's own) prints: XLA's own
estimate of the device memory the compiled generation needs (arguments + outputs + temporaries,
`compiled.memory_analysis()`), and unless --no-time, seconds per generation (one timed
generation after a warm-up one) and the peak RSS of the process (host memory).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import jax

from hades import config as config_lib
from hades import distill
from hades import sharding

sharding.request_exact_cpu_math()  # As the launchers run.

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def measure(config_path: str, task: str, sets: list[str], chunk: int, timed: bool) -> dict:
  """One configuration, in this process: compile one generation, optionally time it."""
  config = config_lib.load_config_file(config_path, task,
                                       [*sets, f"es.candidates_per_chunk={chunk}"])
  components = distill.build(config)
  state = distill.init_state(components, config.seed)
  run = distill.make_distill_run(distill.make_distill_step(components), 1)
  t0 = time.perf_counter()
  compiled = run.lower(state).compile()
  out = {"chunk": chunk, "compile_s": time.perf_counter() - t0}
  memory = compiled.memory_analysis()
  if memory is not None:
    out["device_mib"] = (memory.argument_size_in_bytes + memory.output_size_in_bytes
                         + memory.temp_size_in_bytes) / 2**20
  if timed:
    state, metrics = compiled(state)  # Warm-up.
    jax.block_until_ready(metrics)
    t0 = time.perf_counter()
    state, metrics = compiled(state)
    jax.block_until_ready(metrics)
    out["s_per_gen"] = time.perf_counter() - t0
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--task", default="hopper")
  parser.add_argument("--config", default=os.path.join(REPO, "hades", "configs", "default.py"))
  parser.add_argument("--set", action="append", default=[], help="config override k=v")
  parser.add_argument("--population", type=int, default=2048)
  parser.add_argument("--chunks", default="64,128,256,512,1024,2048")
  parser.add_argument("--no-time", dest="timed", action="store_false",
                      help="only compile (memory estimate), do not run")
  parser.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)  # Child process.
  args = parser.parse_args()
  sets = [f"es.population_size={args.population}", *args.set]
  if args.one:
    print(json.dumps(measure(args.config, args.task, sets, args.one, args.timed)))
    return

  print(f"task {args.task}, popsize {args.population}, config {os.path.basename(args.config)} "
        f"{' '.join(args.set)}, {jax.device_count()} {jax.devices()[0].platform} device(s)")
  print(f"{'chunk':>6} {'compile s':>10} {'device MiB':>11} {'s/gen':>8} {'peak RSS MiB':>13}")
  for chunk in [int(c) for c in args.chunks.split(",")]:
    cmd = [sys.executable, __file__, f"--task={args.task}", f"--config={args.config}",
           f"--population={args.population}", f"--one={chunk}",
           *[f"--set={s}" for s in args.set], *([] if args.timed else ["--no-time"])]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode:
      print(f"{chunk:>6} failed: {proc.stderr.strip().splitlines()[-1]}")
      continue
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{chunk:>6} {r['compile_s']:>10.1f} {r.get('device_mib', float('nan')):>11.0f} "
          f"{r.get('s_per_gen', float('nan')):>8.2f} {r.get('peak_rss_mib', float('nan')):>13.0f}",
          flush=True)


if __name__ == "__main__":
  main()
