"""The paper's scale on one accelerator, in one short call: compile time, s/generation, peak
memory, the chunk size that fits, and the fitness next to the authors' own curve.

  python bench/gpu_check.py --reference_dir=paper          # a GPU: 9 minutes in all
  python bench/gpu_check.py --smoke                        # any CPU: tiny sizes, ~2 minutes

For each task (default hopper, breakout, fashion_mnist) in turn, with the paper config
(`hades/configs/paper.py`), for its share of --budget_s:
1. picks es.candidates_per_chunk: the whole per-device population if XLA's memory analysis of
   the compiled generation fits in --memory_fraction of the device's free memory, else the
   largest divisor that does, scaled from that analysis (one more compile);
   --candidates_per_chunk sets it instead;
2. runs generations, log.generations_per_call per call, until the share is spent;
3. prints the compile time, s/generation, peak device memory (on CPU: the process's peak RSS),
   the chunk, and the population-mean fitness at the last generation next to the authors'
   `fitness_over_gen` at the same generation (mean over the seeds of their released files in
   --reference_dir, as `launch.import_paper` names them).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import sys
import time

import jax
import numpy as np

from hades import config as config_lib
from hades import distill
from hades import sharding

sharding.request_exact_cpu_math()  # As the launchers run.

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER_CONFIG = os.path.join(REPO, "hades", "configs", "paper.py")
# The authors' released files of each task, by dataset size (launch.import_paper's names), and
# what their fitness_over_gen measures (their image distillation logged a training loss).
REFERENCE_FILES = {"hopper": ("brax_hopper_D{size}_distill_seed*.npz", "return"),
                   "breakout": ("minatar_Breakout-MinAtar_D{size}_distill_seed*.npz", "return"),
                   "fashion_mnist": ("mnist_FashionMNIST_D{size}_distill_seed*.npz", "loss")}
# --smoke: the paper config shrunk until a CPU runs a generation in well under a second.
SMOKE = ["es.population_size=8", "student.width=16", "student.bc_steps=5",
         "env.episode_length=20", "eval.num_steps=20", "eval.num_envs=1",
         "validation.every_generations=2", "validation.num_students=2",
         "data.validation_size=500", "data.fitness_batch=100", "student.conv_channels=4",
         "log.generations_per_call=2"]


def device_memory() -> tuple[int, str]:
  """(free bytes on the first device, what was measured): the accelerator's own count, or on
  CPU the host's available memory."""
  stats = jax.devices()[0].memory_stats()
  if stats and "bytes_limit" in stats:
    return stats["bytes_limit"] - stats.get("bytes_in_use", 0), "device"
  with open("/proc/meminfo") as f:
    info = dict(line.split(":", 1) for line in f)
  return int(info["MemAvailable"].split()[0]) * 1024, "host"


def peak_memory() -> tuple[float, str]:
  """(peak MiB, of what): the first device's peak bytes in use, or on CPU the peak RSS."""
  stats = jax.devices()[0].memory_stats()
  if stats and "peak_bytes_in_use" in stats:
    return stats["peak_bytes_in_use"] / 2**20, "device"
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "host RSS"


def compile_generations(config, per_call: int):
  """(components, initial state, compiled run of `per_call` generations, compile seconds,
  XLA's estimate of the device bytes it needs: arguments + outputs + temporaries)."""
  components = distill.build(config)
  state = distill.init_state(components, config.seed)
  run = distill.make_distill_run(distill.make_distill_step(components), per_call)
  t0 = time.perf_counter()
  compiled = run.lower(state).compile()
  seconds = time.perf_counter() - t0
  memory = compiled.memory_analysis()
  needed = (memory.argument_size_in_bytes + memory.output_size_in_bytes
            + memory.temp_size_in_bytes) if memory is not None else 0
  return components, state, compiled, seconds, needed, memory


def fitting_chunk(local: int, memory, free: float) -> int:
  """The largest divisor of `local` whose temporaries, scaled linearly from `memory` (the
  analysis at a chunk of `local`), fit in `free` bytes with the arguments and outputs (1 if
  none does)."""
  fixed = memory.argument_size_in_bytes + memory.output_size_in_bytes
  per_candidate = memory.temp_size_in_bytes / local
  fits = [d for d in range(1, local + 1) if local % d == 0 and
          fixed + per_candidate * d <= free]
  return max(fits, default=1)


def check_task(task: str, sets: list[str], budget_s: float, chunk: int | None,
               memory_fraction: float, reference_dir: str | None, log) -> dict:
  config = config_lib.load_config_file(PAPER_CONFIG, task, sets)
  per_call = config.log.generations_per_call
  local = config.es.population_size // jax.device_count()
  free, free_of = device_memory()
  allowed = memory_fraction * free
  compile_s = 0.0
  chosen = chunk or local
  config.es.candidates_per_chunk = chosen
  components, state, compiled, seconds, needed, memory = compile_generations(config, per_call)
  compile_s += seconds
  if chunk is None and needed > allowed and memory is not None:
    chosen = fitting_chunk(local, memory, allowed)
    log(f"[{task}] a chunk of {local} needs {needed / 2**30:.2f} GiB of "
        f"{allowed / 2**30:.2f} GiB allowed: using {chosen}")
    config.es.candidates_per_chunk = chosen
    components, state, compiled, seconds, needed, _ = compile_generations(config, per_call)
    compile_s += seconds
  started, calls, metrics = time.perf_counter(), [], None
  while not calls or (time.perf_counter() - started + np.mean(calls) <= budget_s - compile_s
                      and len(calls) * per_call < config.es.num_generations):
    t0 = time.perf_counter()
    state, metrics = compiled(state)
    jax.block_until_ready(metrics)
    calls.append(time.perf_counter() - t0)
  generations = len(calls) * per_call
  # The first call also warms up the device: steady state from the later ones when there are.
  steady = calls[1:] or calls
  peak, peak_of = peak_memory()
  fitness = float(np.asarray(metrics["fitness/mean"])[-1])
  row = dict(task=task, devices=jax.device_count(), population=config.es.population_size,
             chunk=chosen, compile_s=compile_s, s_per_generation=float(np.mean(steady)) /
             per_call, generations=generations, estimate_gib=needed / 2**30,
             free_gib=free / 2**30, free_of=free_of, peak_mib=peak, peak_of=peak_of,
             fitness_mean=fitness, reference=reference_fitness(task, config.dataset.size,
                                                               generations, reference_dir))
  log(f"[{task}] {generations} generations, last population-mean fitness {fitness:.3f}")
  return row


def reference_fitness(task: str, size: int, generation: int, folder: str | None):
  """The authors' population-mean fitness at `generation` (mean over their seeds' files), or
  None without files."""
  if not folder or task not in REFERENCE_FILES:
    return None
  pattern, measure = REFERENCE_FILES[task]
  paths = sorted(glob.glob(os.path.join(folder, pattern.format(size=size))))
  curves = []
  for path in paths:
    with np.load(path, allow_pickle=False) as data:
      if "fitness_over_gen" in data.files and len(data["fitness_over_gen"]) >= generation:
        curves.append(float(data["fitness_over_gen"][generation - 1]))
  return dict(mean=float(np.mean(curves)), files=len(curves), measure=measure) if curves else None


def table(rows: list[dict]) -> str:
  lines = ["| task | devices | popsize | chunk | compile | s/generation | generations | "
           "XLA estimate | peak memory | fitness (pop. mean) | authors' at that generation |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
  for r in rows:
    reference = (f"{r['reference']['mean']:.3f} {r['reference']['measure']} "
                 f"({r['reference']['files']} seeds)"
                 if r["reference"] else "no file")
    lines.append(
        f"| {r['task']} | {r['devices']} | {r['population']} | {r['chunk']} | "
        f"{r['compile_s']:.1f} s | {r['s_per_generation']:.3f} | {r['generations']} | "
        f"{r['estimate_gib']:.2f} GiB (of {r['free_gib']:.1f} {r['free_of']} free) | "
        f"{r['peak_mib']:.0f} MiB ({r['peak_of']}) | {r['fitness_mean']:.3f} | {reference} |")
  return "\n".join(lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--tasks", default="hopper,breakout,fashion_mnist")
  parser.add_argument("--budget_s", type=float, default=540.0,
                      help="seconds for all tasks, compiles included, shared equally")
  parser.add_argument("--candidates_per_chunk", type=int, default=None,
                      help="use this chunk instead of choosing it from memory")
  parser.add_argument("--memory_fraction", type=float, default=0.8,
                      help="share of the free device memory a generation may use")
  parser.add_argument("--reference_dir", default=None,
                      help="folder of the authors' released .npz files (launch.import_paper)")
  parser.add_argument("--smoke", action="store_true", help="tiny sizes, for a CPU test")
  parser.add_argument("--set", action="append", default=[], help="config override k=v")
  parser.add_argument("--output", default=None, help="also write the rows as JSON here")
  args = parser.parse_args()
  tasks = [t for t in args.tasks.split(",") if t]
  sets = (SMOKE if args.smoke else []) + args.set
  log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
  log(f"devices: {jax.devices()}")
  rows = [check_task(task, sets, args.budget_s / len(tasks), args.candidates_per_chunk,
                     args.memory_fraction, args.reference_dir, log) for task in tasks]
  print(table(rows))
  if args.output:
    with open(args.output, "w") as f:
      json.dump(rows, f, indent=2)


if __name__ == "__main__":
  main()
