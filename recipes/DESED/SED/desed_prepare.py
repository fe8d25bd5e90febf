"""Data preparation of DESED for the ATST-SED recipe.

Writes the SpeechBrain JSON manifests (synthetic, real strong, weak and
unlabeled training sets; synthetic, real strong, weak and real validation
sets) and the ground-truth / durations TSVs used for evaluation. The work
is done by :func:`speechbrain_atst.data.desed.prepare_desed`; ``train.py``
imports it from here, as SpeechBrain recipes do.

Usage::

    python desed_prepare.py --data_folder /data/DESED/dataset \\
        --save_folder results/data [--skip_missing] \\
        [--strong_split_lists official|random|TRAIN,VALID]

The real strong set is split with ATST-SED's fixed lists (3,000 training /
373 validation clips, ``splits/``) unless ``--strong_split_lists random``.

Authors
 * speechbrain-atst team 2026
"""

import argparse
import sys

from speechbrain_atst.cli.prepare import add_options, run
from speechbrain_atst.data.desed import prepare_desed

__all__ = ["prepare_desed"]


def main(argv=None):
    """Parses the command line and prepares the data.

    The options are those of ``speechbrain-atst prepare``
    (:mod:`speechbrain_atst.cli.prepare`), with the two folders given as
    ``--data_folder`` and ``--save_folder``.

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
    add_options(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
