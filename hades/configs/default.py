"""CPU quick preset (the default): distils ant, hopper and walker2d in minutes on a laptop CPU.

Smaller than the paper in every dimension that costs time (population, student width, eval
horizon); see paper.py for the paper's settings. Use with
`python -m launch.distill --config=hades/configs/default.py --config.es.population_size=...`.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.task = "hopper"
  config.seed = 0
  # dataset: HaDES (evolve a dataset); params: the neuroevolution baseline (evolve the
  # student's weights directly, see hades/neuroevolution.py and configs/neuroevolution.py).
  config.method = "dataset"

  config.env = ml_collections.ConfigDict()
  config.env.backend = "positional"  # The paper's Brax backend.
  config.env.episode_length = 0  # 0: the task's (Brax 1000; gymnax the env's own limit).

  config.dataset = ml_collections.ConfigDict()
  config.dataset.size = 4  # D state-action pairs.
  config.dataset.normalization = "running"  # running | constant | none
  # .npz with obs_mean, obs_var (constant normalisation only; MinAtar: "" = the authors').
  config.dataset.obs_stats = ""
  # Discrete tasks: 'fixed' balanced one-hot labels (the paper; only states evolve) or
  # 'learned' (evolved label logits). Continuous tasks evolve their actions ('learned').
  # 'auto': fixed for discrete tasks, learned for continuous ones.
  config.dataset.labels = "auto"

  config.es = ml_collections.ConfigDict()
  config.es.strategy = "Open_ES"  # Any distribution-based evosax.algorithms strategy.
  config.es.population_size = 32
  config.es.num_generations = 100
  # Larger than the paper's 0.03 / 0.05 (popsize 2048): with 32 candidates the paper's Adam
  # step (~lr per coordinate) outran the sampling radius and the mean swung
  # (docs/experiments/2026-11-26_cpu_default.md). Both decay per generation, keeping the step
  # about a third of sigma.
  config.es.sigma = 0.3
  config.es.learning_rate = 0.1
  config.es.antithetic = True
  config.es.optimizer = "adam"  # The ES mean's optimiser: adam | sgd (SNES's own: sgd, lr 1).
  # Schedules, per generation g: sigma * sigma_decay**g, never below sigma_limit; the same for
  # the Adam learning rate. A decay of 1.0 keeps the value constant (the paper).
  config.es.sigma_decay = 0.99
  config.es.sigma_limit = 0.03
  config.es.lr_decay = 0.99
  config.es.lr_limit = 0.01
  # Candidates each device trains and evaluates at once (lax.map over chunks). The result
  # depends on the chunk (XLA:CPU rounds batches of 16 and 32 differently), not on the device
  # count: a run gives the same dataset on 1 or 2 devices. -1: gcd(population_size, 16);
  # 0: each device's whole share at once (the result then depends on the device count).
  config.es.candidates_per_chunk = -1

  # Validation of the ES mean (hades.validation): fresh students on keys never used for
  # fitness, every K generations and at the last; dataset.npz is the best-validated mean.
  config.validation = ml_collections.ConfigDict()
  config.validation.every_generations = 10  # K; 0: off (dataset.npz is the final mean).
  config.validation.num_students = 8
  # The mean kept is the one with the best mean - std_penalty * std over the students: one
  # student falling over costs more than a slightly lower mean (walker2d,
  # docs/experiments/2026-11-27_cpu15.md).
  config.validation.std_penalty = 1.0

  config.student = ml_collections.ConfigDict()
  config.student.width = 64
  config.student.depth = 2
  config.student.activation = "tanh"
  config.student.kernel_init = "orthogonal"
  config.student.learning_rate = 5e-3
  config.student.max_grad_norm = 0.5
  config.student.bc_steps = 0  # 0: the task's paper default (400; 200 hopper/idp).
  config.student.optimizer = "adam"  # adam | sgd (the paper's supervised students: SGD 0.1).
  # > 0: a CNN classifier of square images (supervised tasks): a 3x3 convolution with this
  # many filters and stride, then `depth` dense layers of `width`.
  config.student.conv_channels = 0
  config.student.conv_stride = 1

  config.hades = ml_collections.ConfigDict()
  config.hades.mode = "R"  # R: fresh student inits per generation; F: one fixed init.
  config.hades.num_students = 0  # 0: the mode's default (R: 2 fresh inits; F: its 1 init).
  # A candidate's fitness: the mean (the paper) or the min of its students' returns.
  config.hades.student_reduce = "mean"
  # > 0: the ES scores candidates with students of this width instead of student.width
  # (HaDES-R only). Narrow students make generations cheap; validation, the final evaluation
  # and the dataset's users train student.width students (walker2d in cpu15.py).
  config.hades.fitness_width = 0

  # Supervised tasks (hades.supervised): real MNIST-format images, never downloaded.
  config.data = ml_collections.ConfigDict()
  config.data.dir = "/usr/share/datasets/fashion-mnist"  # The four IDX files, .gz or not.
  config.data.validation_size = 5000  # Last training images, held out for fitness.
  config.data.fitness_batch = 1000  # Held-out images per fitness evaluation (0: all).
  config.data.metric = "accuracy"  # The fitness: accuracy | cross_entropy (minus it).
  config.data.init = "class_means"  # The ES's base images: class_means | random_real | noise.
  # k > 1: the ES evolves each image's offset from its base on a (side / k)^2 grid, upsampled
  # bilinearly (k=2: 196 numbers per 28x28 image instead of 784); 1: pixel by pixel (paper).
  config.data.genome_upsample = 1

  config.eval = ml_collections.ConfigDict()  # Fitness evaluation during distillation.
  config.eval.num_envs = 1
  config.eval.num_steps = 1000

  # Fresh students on the final dataset. Running normalisation merges the parallel envs'
  # observations, so the envs per student must match eval.num_envs (0 = the same).
  config.final_eval = ml_collections.ConfigDict()
  config.final_eval.num_students = 8
  config.final_eval.num_envs = 0
  config.final_eval.num_steps = 1024

  config.log = ml_collections.ConfigDict()
  config.log.generations_per_call = 5  # Generations per jitted host call (lax.scan).
  config.log.tensorboard = False  # Also write TensorBoard events to <task>/tensorboard/.
  config.log.wandb = False  # Also log to Weights & Biases (pip install -e '.[wandb]').
  config.log.wandb_project = "hades"
  config.log.wandb_entity = ""  # "" = your default entity.

  config.checkpoint = ml_collections.ConfigDict()
  config.checkpoint.every_generations = 10  # Also saved on SIGTERM/SIGINT and at the end.
  config.checkpoint.keep_latest = 2
  config.checkpoint.keep_best = 1  # By fitness/best.

  # Per-task presets: applied after this file and before the command line (a value given on
  # the command line always wins). Sized so that ant + hopper + walker2d take under 20 min on
  # 2 CPU cores.
  #
  # ant: the spring backend. On the positional one, about a third of ant's reset states end
  # their episode within a few steps whatever the actions (the contact correction throws the
  # torso above the healthy height) and Brax's auto-reset replays that state, so one reset
  # decided a student's score; spring has no such states and its step costs a quarter of
  # positional's on a CPU (bench/ant_resets.py, docs/brax_versions.md). Fitness over 500 steps
  # buys twice the generations (the final evaluation stays 1024 steps); over 300, the gait it
  # found did not last 1024.
  #
  # Discrete tasks (gymnax family, then 'minatar', then the task): the paper's MinAtar student
  # recipe (Adam 0.03 unclipped, 64 BC steps), evaluated on whole episodes.
  config.task_presets = ml_collections.ConfigDict({
      "ant": {"env": {"backend": "spring"}, "es": {"num_generations": 80},
              "eval": {"num_steps": 500}},
      "walker2d": {"es": {"num_generations": 50}},
      "gymnax": {"student": {"learning_rate": 0.03, "max_grad_norm": 0.0},
                 "eval": {"num_steps": 500}, "final_eval": {"num_steps": 500},
                 "es": {"num_generations": 50}},
      "acrobot": {"dataset": {"size": 6}, "es": {"num_generations": 150}},
      # Continuous torque (a Gaussian student): raw observations (cos, sin, speed) rather
      # than running statistics, which the swing-up's early steps skew; whole 200-step
      # episodes in 2 envs per student, 64 candidates for 250 cheap generations.
      "pendulum": {"dataset": {"size": 8, "normalization": "none"},
                   "es": {"population_size": 64, "num_generations": 250},
                   "eval": {"num_envs": 2, "num_steps": 200},
                   "final_eval": {"num_steps": 200}},
      # FashionMNIST IPC=1 in 18 min on 2 CPU cores (docs/supervised.md): a cheaper CNN (8
      # filters of stride 2, dense 64) and 200 SGD steps instead of the paper's 16 / 1 / 128 / 1000; the
      # images evolved as 14x14 offsets (4x fewer numbers whose gradient the ES estimates); 64
      # candidates of one student each rather than 32 of two (the same students per
      # generation, twice the search directions: 0.755 against 0.750 on the test set).
      "supervised": {"dataset": {"size": 10, "normalization": "none"},
                     "data": {"genome_upsample": 2}, "hades": {"num_students": 1},
                     "student": {"conv_channels": 8, "conv_stride": 2, "width": 64, "depth": 1,
                                 "activation": "relu", "kernel_init": "lecun_normal",
                                 "optimizer": "sgd", "learning_rate": 0.1,
                                 "max_grad_norm": 0.0, "bc_steps": 200},
                     "es": {"population_size": 64, "num_generations": 120, "sigma": 0.05,
                            "learning_rate": 0.02, "sigma_decay": 0.995, "sigma_limit": 0.01,
                            "lr_decay": 0.995, "lr_limit": 0.005}},
      "minatar": {"dataset": {"size": 16, "normalization": "constant"},
                  "student": {"activation": "relu"},
                  "eval": {"num_steps": 1000}, "final_eval": {"num_steps": 1024}},
  })
  return config
