"""The paper's neuroevolution baseline (needs a GPU): SNES on the policy's weights, popsize
2048, sigma 0.03, width-256 students (the width-512 one did not fit the authors' GPUs), one
rollout per candidate, the paper's evaluation (paper.py). evosax 0.3's SNES has no
'temperature'; its default rank weights are used (as for the MinAtar preset in paper.py)."""

import ml_collections

from hades.configs import paper


def get_config() -> ml_collections.ConfigDict:
  config = paper.get_config()
  config.method = "params"
  config.es.strategy = "SNES"
  config.es.optimizer = "sgd"
  config.es.learning_rate = 1.0  # SNES's own natural-gradient step.
  config.es.sigma = 0.03
  config.es.antithetic = False
  config.student.width = 256
  config.hades.num_students = 0  # One rollout per candidate.
  config.task_presets = ml_collections.ConfigDict({
      "gymnax": {"student": {"activation": "relu"}, "eval": {"num_envs": 8}},
      "minatar": {"dataset": {"normalization": "constant"}},
  })
  return config
