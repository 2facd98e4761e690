"""Seconds per HaDES generation of supervised distillation (FashionMNIST), measured on a few
candidates and scaled to the config's population.

  python bench/supervised_speed.py                          # paper scale, 4 candidates timed
  python bench/supervised_speed.py --config=hades/configs/default.py --candidates=32
  python bench/supervised_speed.py --set dataset.size=100   # IPC 10

The paper's config (popsize 512, 2 students x 1000 SGD steps of conv16 -> dense128) does not
fit a CPU generation in minutes: the bench runs `--candidates` of them (same students, data
and steps per candidate) and prints the measured time, the time per candidate and the
generation time of the full population (candidates cost the same and run independently).
Needs the FashionMNIST files (apt-get install dataset-fashion-mnist).
"""

from __future__ import annotations

import argparse
import os

import jax

from hades import config as config_lib
from hades import distill
from hades import sharding

import timing  # bench/timing.py, beside this script.

sharding.request_exact_cpu_math()  # As the launchers run.


def main():
  here = os.path.dirname(os.path.abspath(__file__))
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default=os.path.join(here, "..", "hades", "configs",
                                                       "paper.py"))
  parser.add_argument("--set", action="append", default=[], help="config override k=v")
  parser.add_argument("--candidates", type=int, default=4, help="population actually run")
  parser.add_argument("--generations", type=int, default=1, help="generations per timed call")
  parser.add_argument("--repeats", type=int, default=1)
  args = parser.parse_args()

  full = config_lib.load_config_file(args.config, "fashion_mnist", args.set)
  timed = config_lib.load_config_file(args.config, "fashion_mnist", args.set + [
      f"es.population_size={args.candidates}", "es.candidates_per_chunk=0",
      "validation.every_generations=0"])
  c = distill.build(timed)
  s = timed.student
  scored = c.env_steps_per_generation // (args.candidates * timed.hades.num_students)
  print(f"fashion_mnist: D {timed.dataset.size}, student conv{s.conv_channels}/{s.conv_stride} "
        f"-> {s.depth}x{s.width}, {s.bc_steps} {s.optimizer} steps, {timed.hades.num_students} "
        f"students/candidate, fitness on {scored} "
        f"images; timing {args.candidates} of {full.es.population_size} candidates on "
        f"{jax.device_count()} {jax.devices()[0].platform} device(s)")
  first, per_gen = timing.time_generations(c, distill.init_state(c, timed.seed),
                                           args.generations, args.repeats)
  per_candidate = per_gen / args.candidates
  print(f"first call (compile + {args.generations} gen): {first:9.2f} s")
  print(f"seconds / generation ({args.candidates} candidates): {per_gen:9.2f} s")
  print(f"seconds / candidate:                  {per_candidate:9.2f} s")
  print(f"seconds / generation at popsize {full.es.population_size}:   "
        f"{per_candidate * full.es.population_size:9.0f} s "
        f"({per_candidate * full.es.population_size / 3600:.2f} h)")


if __name__ == "__main__":
  main()
