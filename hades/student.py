"""The student stack: one place builds a student (network, init, BC) from its settings.

Distillation (`distill.build`), scoring (`evaluation`), rendering and multi-task transfer all get
their students here, so a dataset is always judged by the student it was made for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hades import bc
from hades import classifier
from hades import policy as policy_lib
from hades import types


@dataclasses.dataclass(frozen=True)
class StudentSettings:
  """How a student is built and BC-trained (the fields of `config.student`).

  Defaults are the paper's student: MLP 2x512 tanh, orthogonal init, full-batch Adam 5e-3 with
  global-norm clip 0.5; bc_steps 0 means the task's paper default (400; 200 hopper/idp).
  optimizer: 'adam' or 'sgd' (the paper's supervised students: SGD 0.1, no clipping).
  conv_channels > 0: a CNN classifier of square images (`classifier.ConvClassifier`: a 3x3
  convolution of that many filters with stride conv_stride, then `depth` dense layers of
  `width`); 0: the MLP.
  """

  width: int = 512
  depth: int = 2
  activation: str = "tanh"
  kernel_init: str = "orthogonal"
  learning_rate: float = 5e-3
  max_grad_norm: float = 0.5
  bc_steps: int = 0
  optimizer: str = "adam"
  conv_channels: int = 0
  conv_stride: int = 1

  @classmethod
  def for_task(cls, spec, overrides: Mapping[str, Any] | None = None) -> StudentSettings:
    """The paper's student (the task's own, `spec.student`, e.g. the supervised CNN) updated
    with `overrides` (unknown keys ignored: a run's `config.student` or flags); bc_steps <= 0
    becomes the task's default `spec.bc_steps` (spec: a `families.base.TaskSpec`)."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = {**dict(spec.student), **dict(overrides or {})}
    settings = cls(**{k: v for k, v in values.items() if k in names})
    if settings.bc_steps <= 0:
      settings = dataclasses.replace(settings, bc_steps=spec.bc_steps)
    return settings

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Student:
  """A student for one task's observation/action sizes.

  Attributes:
    settings: what it was built from.
    policy: the network, apply(params, obs [..., obs]) -> (out [..., act], log_std [act]) (an
      MLP, or a `classifier.ConvClassifier`).
    head: what `out` means (Gaussian mean or categorical logits), actions and BC loss.
    init_params: keys [S] -> params [S, ...] (lax.map; see `policy.make_init_params`).
    train: (params, dataset) -> (params, final BC loss), the BC loop with the head's loss.
  """

  settings: StudentSettings
  policy: types.Policy
  init_params: types.InitParams
  train: types.Train
  head: policy_lib.Head = policy_lib.GaussianHead()


def make_student(obs_size: int, act_size: int, settings: StudentSettings,
                 head: policy_lib.Head = policy_lib.GaussianHead()) -> Student:
  """Builds the student for a task with `obs_size` observations and `act_size` actions
  (discrete: the number of actions), with the task's `head` (`tasks.make_head`)."""
  if settings.conv_channels > 0:
    policy = classifier.make_classifier(act_size, obs_size, settings.conv_channels,
                                        settings.conv_stride, settings.width, settings.depth,
                                        settings.activation)
  else:
    policy = policy_lib.make_policy(act_size, settings.width, settings.depth,
                                    settings.activation, settings.kernel_init,
                                    head.learned_std)
  return Student(settings, policy, policy_lib.make_init_params(policy, obs_size),
                 bc.make_bc_train(policy, settings.bc_steps, settings.learning_rate,
                                  settings.max_grad_norm, head, settings.optimizer), head)
