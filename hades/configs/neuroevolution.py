"""The neuroevolution baseline on a CPU: the ES evolves the student's weights directly.

The default config with `method = 'params'`: the genome is the 2x64 student's weights (about
5k for hopper, vs 56 numbers for HaDES's 4-point dataset), started from a fresh network init,
one rollout per candidate. The sigma and learning rate suit weights (orthogonal init, scale ~1),
not a dataset of observations:

  python -m launch.distill --config=hades/configs/neuroevolution.py --task=hopper --workdir=W

`python -m launch.study --study=neuroevolution` compares it with HaDES at equal env steps.
"""

import ml_collections

from hades.configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.method = "params"
  config.es.sigma, config.es.sigma_decay, config.es.sigma_limit = 0.05, 1.0, 0.0
  config.es.learning_rate, config.es.lr_decay, config.es.lr_limit = 0.02, 1.0, 0.0
  config.hades.num_students = 0  # One rollout per candidate.
  return config
