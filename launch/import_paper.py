"""Convert the paper authors' released result pickles into dataset files.

  python -m launch.import_paper --results=behaviour-distillation/results/ICLR --out=paper
  python -m launch.import_paper --results=results/ICLR/minatar --out=paper --overwrite

Finds every data_final.pkl under --results (the authors' results/ICLR tree or any part of it)
and writes one .npz per run to --out, named like the released files:
brax_[sweepD_]<env>_D<n>_<distill|overfit>_seed<s>.npz (hades's format),
minatar_<Game>_D<n>_<distill|overfit>_seed<s>[_gen<G>][_width<W>][_greedy].npz (the released
MinAtar format) and mnist_<FashionMNIST|MNIST>_D<n>_distill_seed<s>.npz (hades's format, task
fashion_mnist). Each keeps the run's config and fitness curves. The pickles are read without
evosax (hades/paper_import.py); the ES-on-weights baselines hold no dataset and are skipped.
Every pickle is read and converted before anything is written; existing files are replaced
only with --overwrite. Prints one line per file written.
"""

from __future__ import annotations

import os
import sys

from absl import flags

from launch import common

FLAGS = flags.FLAGS
flags.DEFINE_string("results", None, "Folder holding the authors' data_final.pkl files "
                    "(results/ICLR or any part of it), or one such file.")
flags.DEFINE_string("out", None, "Folder to write the .npz files to (created).")
flags.DEFINE_bool("overwrite", False, "Replace output files that already exist.")
flags.mark_flags_as_required(["results", "out"])


def main(argv):
  del argv
  from hades import paper_import

  conversions, skipped = paper_import.plan(FLAGS.results)
  out = os.path.abspath(FLAGS.out)
  targets = [os.path.join(out, c.name) for c in conversions]
  existing = [t for t in targets if os.path.lexists(t)]
  if existing and not FLAGS.overwrite:
    more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
    raise common.InputError(f"{existing[0]} exists{more}; pass --overwrite to replace")
  try:
    os.makedirs(out, exist_ok=True)
  except OSError as e:
    raise common.InputError(f"cannot create --out {out}: {e.strerror}") from None
  if not os.access(out, os.W_OK):
    raise common.InputError(f"--out {out} is not writable")
  for conversion, target in zip(conversions, targets):
    conversion.write(target)
    note = f"  [{conversion.note}]" if conversion.note else ""
    print(f"{target} <- {conversion.source}{note}", flush=True)
  for path in skipped:
    print(f"skipped {path}: {paper_import.NOT_A_DATASET}", file=sys.stderr)


if __name__ == "__main__":
  common.run(main)
