"""Study settings at the paper's scale (GPUs), with --config=hades/configs/paper.py: full-length
runs (no task overrides), the paper's D sweep, and the paper's neuroevolution baseline (SNES,
sigma 0.03, width-256 students, one rollout per candidate; see paper_neuroevolution.py), and
that baseline against HaDES over student widths 64 to 1024."""

import ml_collections

from hades.configs import study


def get_config() -> ml_collections.ConfigDict:
  config = study.get_config()
  config.neuroevolution.params = ml_collections.ConfigDict({
      "es": {"strategy": "SNES", "optimizer": "sgd", "learning_rate": 1.0, "sigma": 0.03,
             "antithetic": False},
      "student": {"width": 256},
      "hades": {"num_students": 0}})
  config.dataset_size.sizes = (1, 2, 4, 16, 64, 256)
  config.init_mode.students = ml_collections.ConfigDict({
      "width": (64, 1024), "depth": (1, 3), "activation": ("relu",),
      "learning_rate": (1e-3, 2e-2), "bc_steps": (100, 800)})
  config.student_width.widths = (64, 256, 512, 1024)
  config.student_width.params = ml_collections.ConfigDict({
      "es": {"strategy": "SNES", "optimizer": "sgd", "learning_rate": 1.0, "sigma": 0.03,
             "antithetic": False},
      "hades": {"num_students": 0}})
  for name in ("neuroevolution", "dataset_size", "init_mode", "student_width"):
    config[name].task_overrides = ml_collections.ConfigDict()
  return config
