"""Study settings sized for a 2-core CPU (`python -m launch.study`): about 30 minutes per
study of the cheap tasks (hopper, cartpole) over 3 seeds, from scratch (measured figures in the
docs/studies.md). The runs themselves use the run config (`--config`, default.py); `task_overrides`
shortens them per task and study.
For GPUs use study_paper.py with --config=hades/configs/paper.py.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  # HaDES vs the ES on the student's weights at equal env steps.
  config.neuroevolution = ml_collections.ConfigDict()
  # The params run's settings (as configs/neuroevolution.py); its generations are set to
  # spend the same env steps as the HaDES run.
  config.neuroevolution.params = ml_collections.ConfigDict({
      "es": {"sigma": 0.05, "sigma_decay": 1.0, "sigma_limit": 0.0,
             "learning_rate": 0.02, "lr_decay": 1.0, "lr_limit": 0.0},
      "hades": {"num_students": 0}})
  config.neuroevolution.task_overrides = ml_collections.ConfigDict({
      "hopper": {"es": {"num_generations": 60}},
      "walker2d": {"es": {"num_generations": 40}},
  })
  # Final return vs dataset size.
  config.dataset_size = ml_collections.ConfigDict()
  config.dataset_size.sizes = (1, 2, 4, 16, 64)
  config.dataset_size.task_overrides = ml_collections.ConfigDict({
      # One student per candidate (the paper's HaDES-R has two) halves a generation's cost.
      # Generations: a multiple of log.generations_per_call (5), or a remainder compiles a
      # second program.
      "hopper": {"es": {"num_generations": 35}, "hades": {"num_students": 1}},
  })
  # HaDES-R vs HaDES-F datasets scored by other students.
  config.init_mode = ml_collections.ConfigDict()
  config.init_mode.students = ml_collections.ConfigDict({
      "width": (32, 256), "depth": (1, 3), "activation": ("relu",),
      "learning_rate": (1e-3, 2e-2), "bc_steps": (100, 400)})
  config.init_mode.num_students = 8  # Fresh students per transfer score.
  config.init_mode.task_overrides = ml_collections.ConfigDict({
      "hopper": {"es": {"num_generations": 60}},
  })
  # neuroevolution's comparison over the student's width (2x64: 5k weights, 2x512: 270k for
  # hopper); the dataset's size stays D whatever the width.
  config.student_width = ml_collections.ConfigDict()
  config.student_width.widths = (64, 256, 512)
  config.student_width.params = ml_collections.ConfigDict(
      config.neuroevolution.params.to_dict())
  config.student_width.task_overrides = ml_collections.ConfigDict({
      "hopper": {"es": {"num_generations": 60}},
  })
  return config
