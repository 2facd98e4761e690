"""Steady-state timing of the generation step, shared by the speed benches beside it."""

from __future__ import annotations

import time

import jax

from hades import distill


def time_generations(components: distill.Components, state: distill.DistillState,
                     generations: int, repeats: int) -> tuple[float, float]:
  """Times `repeats` host calls of `generations` generations each, after one warm-up call.

  Returns (first_call_s, seconds_per_generation): the first call includes compilation, so
  `first_call_s - generations * seconds_per_generation` is the compile time.
  """
  run = distill.make_distill_run(distill.make_distill_step(components), generations)
  t0 = time.perf_counter()
  state, metrics = run(state)
  jax.block_until_ready(metrics)
  first_call = time.perf_counter() - t0
  t0 = time.perf_counter()
  for _ in range(repeats):
    state, metrics = run(state)
  jax.block_until_ready(metrics)
  return first_call, (time.perf_counter() - t0) / (repeats * generations)
