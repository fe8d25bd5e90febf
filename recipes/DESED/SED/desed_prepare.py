"""Data preparation of DESED for the ATST-SED recipe.

Writes the SpeechBrain JSON manifests (synthetic, real strong, weak and
unlabeled training sets; synthetic, real strong, weak and real validation
sets) and the ground-truth / durations TSVs used for evaluation. The work
is done by :func:`speechbrain_atst.data.desed.prepare_desed`; ``train.py``
imports it from here, as SpeechBrain recipes do.

Usage::

    python desed_prepare.py --data_folder /data/DESED/dataset \\
        --save_folder results/data [--skip_missing]

Authors
 * speechbrain-atst team 2026
"""

import argparse
import logging
import sys

from speechbrain_atst.data.desed import prepare_desed

__all__ = ["prepare_desed"]


def main(argv=None):
    """Parses the command line and prepares the data.

    Arguments
    ---------
    argv : list of str, optional
        Arguments (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        Exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data_folder", required=True, help="DESED 'dataset' folder"
    )
    parser.add_argument(
        "--save_folder", required=True, help="Output folder of manifests"
    )
    parser.add_argument(
        "--skip_missing",
        action="store_true",
        help="Leave out audio files listed in the TSVs but absent or "
        "unreadable",
    )
    parser.add_argument("--weak_split", type=float, default=0.9)
    parser.add_argument("--strong_split", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--classes", default=None, help="Class list (comma-separated or file)"
    )
    parser.add_argument(
        "--strong_train_tsv",
        default=None,
        help="Fixed strong split, e.g. ATST-SED's audioset_strong_train.tsv",
    )
    parser.add_argument(
        "--strong_valid_tsv",
        default=None,
        help="Fixed strong split, e.g. ATST-SED's audioset_strong_val.tsv",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    outputs = prepare_desed(
        args.data_folder,
        args.save_folder,
        classes=args.classes,
        skip_missing=args.skip_missing,
        weak_split=args.weak_split,
        strong_split=args.strong_split,
        seed=args.seed,
        strong_train_tsv=args.strong_train_tsv,
        strong_valid_tsv=args.strong_valid_tsv,
    )
    for name, path in outputs.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
