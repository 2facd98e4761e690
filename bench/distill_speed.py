"""Speed of one HaDES generation against its lower bound, measured in the same run.

  python bench/distill_speed.py --task=hopper
  python bench/distill_speed.py --task=hopper --config=hades/configs/paper.py \
      --set es.population_size=64 --set student.width=512 --set student.bc_steps=400

Prints: compile time of the first generation call, seconds per generation (steady state),
env steps/s, and the lower bound = raw env stepping of the same env steps (Brax or gymnax,
uniformly random actions, same batch of envs) + BC alone of the same students on the ES's
starting dataset, with the ratio s/gen / lower bound. Also prints the peak RSS of the process.
Control tasks only (supervised ones: bench/supervised_speed.py); neuroevolution runs
(`method=params`) have no BC, so their bound is the stepping alone.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import jax
import jax.numpy as jnp

from hades import config as config_lib
from hades import distill
from hades import sharding
from hades import tasks

import timing  # bench/timing.py, beside this script.

sharding.request_exact_cpu_math()  # As the launchers run.


def _time(fn, *args, repeats: int):
  jax.block_until_ready(fn(*args))  # Warm-up (and compile).
  t0 = time.perf_counter()
  for _ in range(repeats):
    jax.block_until_ready(fn(*args))
  return (time.perf_counter() - t0) / repeats


def main():
  here = os.path.dirname(os.path.abspath(__file__))
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--task", default="hopper")
  parser.add_argument("--config", default=os.path.join(here, "..", "hades", "configs",
                                                       "default.py"))
  parser.add_argument("--set", action="append", default=[], help="config override k=v")
  parser.add_argument("--generations", type=int, default=3, help="generations per timed call")
  parser.add_argument("--repeats", type=int, default=2)
  args = parser.parse_args()

  config = config_lib.load_config_file(args.config, args.task, args.set)
  if not tasks.family_of(config.task).has_env:
    parser.error(f"{config.task} has no env to step: use bench/supervised_speed.py")
  c = distill.build(config)
  P, S = config.es.population_size, config.hades.num_students
  N, T = config.eval.num_envs, config.eval.num_steps
  print(f"task {c.task}: popsize {P}, students {S}, envs {N} x steps {T}, D {config.dataset.size},"
        f" student {config.student.depth}x{config.student.width}, bc_steps "
        f"{config.student.bc_steps}, devices {jax.device_count()} ({jax.devices()[0].platform})")

  # Full generations.
  first_call, sec_per_gen = timing.time_generations(
      c, distill.init_state(c, config.seed), args.generations, args.repeats)
  compile_s = first_call - args.generations * sec_per_gen

  # Lower bound 1: raw env stepping, same env batch (P*S*N envs) and T steps, random actions.
  env = tasks.make_env(c.task, config.env.backend, config.env.episode_length)
  num_envs = P * S * N
  discrete = c.head.discrete

  def raw_rollout(key):
    states = jax.vmap(env.reset)(jax.random.split(key, num_envs))

    def body(s, k):
      if discrete:
        a = jax.random.randint(k, (num_envs,), 0, c.act_size)
      else:
        a = jax.random.uniform(k, (num_envs, c.act_size), minval=-1.0, maxval=1.0)
      s = jax.vmap(env.step)(s, a)
      return s, None

    s, _ = jax.lax.scan(body, states, jax.random.split(key, T))
    return jnp.sum(s.reward)

  raw_s = _time(jax.jit(raw_rollout), jax.random.key(0), repeats=args.repeats)

  # Lower bound 2: BC alone of the same P*S students on the ES's starting dataset.
  bc_s = 0.0
  if c.method.trains_students:
    datasets = jax.tree.map(lambda x: jnp.broadcast_to(x, (P,) + x.shape),
                            distill.zero_dataset(c))
    student = distill.make_task_parts(config).student
    params = student.init_params(jax.random.split(jax.random.key(1), S))

    def bc_only(datasets, params):
      per_candidate = jax.vmap(student.train, in_axes=(0, None))
      return jax.vmap(per_candidate, in_axes=(None, 0))(params, datasets)[1]

    bc_s = _time(jax.jit(bc_only), datasets, params, repeats=args.repeats)
  bound = raw_s + bc_s
  rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  steps = c.env_steps_per_generation
  print(f"compile (first call - {args.generations} gens): {compile_s:8.2f} s")
  print(f"seconds / generation:            {sec_per_gen:8.3f} s")
  print(f"env steps / s:                   {steps / sec_per_gen:8.0f}")
  print(f"raw env stepping ({steps} steps) : {raw_s:8.3f} s  ({steps / raw_s:.0f} steps/s)")
  print(f"BC alone ({P * S} students):        {bc_s:8.3f} s")
  print(f"lower bound (raw + BC):          {bound:8.3f} s")
  print(f"ratio s/gen / lower bound:       {sec_per_gen / bound:8.2f}")
  print(f"peak RSS:                        {rss_mb:8.0f} MiB")


if __name__ == "__main__":
  main()
