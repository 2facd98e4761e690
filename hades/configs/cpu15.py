"""About 15 minutes per task on a 2-core CPU: the default config, run longer.

Only the number of generations differs from default.py; its sigma and learning-rate decays and
the validation of the ES mean (dataset.npz = the best-validated mean) make the extra
generations pay. Timed for hopper and walker2d on this project's 2-core CPU with the default
2 CPU devices (README, "Longer runs"):

  python -m launch.distill --config=hades/configs/cpu15.py --task=hopper --workdir=runs/q
  python bench/quality_per_time.py --workdir=runs/qpt     # hopper + walker2d, 3 seeds
"""

import ml_collections

from hades.configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  # hopper: 2.6 s per generation on 2 cores, 1.5 min of compilation (none from the cache) and
  # 1 min of final evaluation: 15.4 min from scratch, 12.8-13.3 min from the cache.
  config.es.num_generations = 300
  config.task_presets = ml_collections.ConfigDict({
      # 4.4-4.9 s per generation and 2 min of compilation: 13.2 min, 1553.1 +- 262.5 (one
      # fresh student in 8 at 928); 200 generations took 19.1 min for 1648.5 +- 71.8. 16
      # validation students: with 8, the 200-generation dataset was 1532.5 +- 308.1.
      "walker2d": {"es": {"num_generations": 140}, "validation": {"num_students": 16}},
      "ant": {"es": {"num_generations": 75}},  # 3x the default's 25 (not timed).
  })
  return config
