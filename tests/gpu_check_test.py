"""bench/gpu_check.py: the chunk that fits, and the whole check at --smoke sizes on the CPU."""

import importlib.util
import os
import subprocess
import sys
import types

import pytest

from conftest import REFERENCE_DIR
from conftest import REPO

SCRIPT = os.path.join(REPO, "bench", "gpu_check.py")
FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def _module():
  spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_the_chunk_is_the_largest_divisor_whose_temporaries_fit():
  gpu_check = _module()
  # 256 candidates need 100 + 256 * 4 bytes: 8 of them need 132, 16 need 164.
  memory = types.SimpleNamespace(argument_size_in_bytes=60, output_size_in_bytes=40,
                                 temp_size_in_bytes=1024)
  assert gpu_check.fitting_chunk(256, memory, free=150) == 8
  assert gpu_check.fitting_chunk(256, memory, free=164) == 16
  assert gpu_check.fitting_chunk(256, memory, free=10_000) == 256
  assert gpu_check.fitting_chunk(256, memory, free=50) == 1  # Nothing fits: one at a time.
  # 96 candidates: 1024 / 96 bytes each, so 4 fit in 150 (6 would need 164).
  assert gpu_check.fitting_chunk(96, memory, free=150) == 4


@pytest.mark.slow
def test_the_smoke_check_runs_each_family_and_shrinks_the_chunk_when_memory_is_short():
  tasks = "breakout,fashion_mnist" if os.path.exists(FASHION) else "breakout"
  minatar = os.path.join(REFERENCE_DIR, "minatar")
  result = subprocess.run(
      [sys.executable, SCRIPT, "--smoke", f"--tasks={tasks}", "--budget_s=10",
       "--memory_fraction=1e-9", f"--reference_dir={minatar}"],
      cwd=REPO, capture_output=True, text=True, timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [line.split(" | ") for line in result.stdout.splitlines()
          if line.startswith("| ") and not line.startswith("| task")]
  assert [r[0].strip("| ") for r in rows] == tasks.split(",")
  for row in rows:
    assert row[3] == "1"  # No memory to spare: one candidate per chunk, after a recompile.
    assert float(row[5]) > 0 and int(row[6]) >= 2 and float(row[9]) >= 0
  if os.path.isdir(minatar):  # The authors' breakout curve at generation 2, over 3 seeds.
    assert rows[0][10].endswith("return (3 seeds) |")
  assert "using 1" in result.stderr
