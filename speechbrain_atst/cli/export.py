"""``speechbrain-atst export``: a training run to a loadable model folder.

Example
-------
.. code-block:: bash

    speechbrain-atst export results/stage2/1234 my_model --which teacher

writes ``my_model/hyperparams.yaml``, ``model.ckpt`` and ``README.md``
from the run's best checkpoint (by the objective in its
``model_config.json``); load it with
``SEDInterface.from_hparams(source="my_model")``.

Authors
 * speechbrain-atst team 2026
"""

import sys

#: One-line description shown by ``speechbrain-atst --help``.
HELP = "Export the best checkpoint of a training run as a model folder"


def add_arguments(parser):
    """Adds the command's arguments to ``parser``.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The sub-command parser.
    """
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", help="output_folder of a training run"
    )
    parser.add_argument(
        "out_dir", metavar="OUT_DIR", help="model folder to write"
    )
    parser.add_argument(
        "--which",
        choices=["teacher", "student"],
        default="teacher",
        help="network to export (default: %(default)s)",
    )


def run(args):
    """Exports the run.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        0 on success, 1 on error.
    """
    from speechbrain_atst.inference import export_run

    try:
        out = export_run(args.run_dir, args.out_dir, which=args.which)
    except Exception as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(
        f"Model folder written to {out} ({args.which}); load it with "
        f'SEDInterface.from_hparams(source="{out}") or '
        f"`speechbrain-atst detect FILE --model {out}`"
    )
    return 0
