"""``speechbrain-atst finetune``: fine-tune ATST-SED on your own sounds.

Authors
 * speechbrain-atst team 2026
"""

import sys

HELP = (
    "Fine-tune ATST-SED on a folder written by prepare-custom (new classes), "
    "score the held-out files and export the model"
)


def add_arguments(parser):
    """Adds the command's arguments to ``parser``.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The sub-command parser.

    Example
    -------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["data", "--init", "m", "--out", "run"])
    >>> args.device, args.epochs
    ('cpu', None)
    """
    parser.add_argument(
        "prepared_dir",
        help="folder written by `speechbrain-atst prepare-custom`",
    )
    parser.add_argument(
        "--init",
        required=True,
        help="initial model: a model folder (export / convert), a training "
        "run folder, an official ATST-SED checkpoint, or atst_as2M.ckpt "
        "(transformer only: the paper's two stages are run)",
    )
    parser.add_argument("--out", required=True, help="output folder (RUN_DIR)")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs of each stage (default: scaled with the amount of data)",
    )
    parser.add_argument(
        "--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)"
    )
    parser.add_argument(
        "--batch_size",
        type=int,
        default=None,
        help="clips per batch, shared by the strong, weak and unlabeled "
        "parts present (default: the recipe's, 24)",
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other recipe hyperparameter (recipes/Custom/SED/hparams/"
        "finetune.yaml), e.g. --override num_workers=0; repeatable",
    )
    parser.add_argument(
        "--trust_checkpoint",
        action="store_true",
        help="allow full unpickling of an official (Lightning) checkpoint: "
        "trusted files only",
    )


def run(args):
    """Runs the fine-tuning.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        0 on success, 1 on error.
    """
    from speechbrain_atst.cli.quickstart import parse_overrides
    from speechbrain_atst.finetune import finetune

    try:
        overrides = parse_overrides(args.override)
    except ValueError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    try:
        finetune(
            args.prepared_dir,
            args.init,
            args.out,
            epochs=args.epochs,
            device=args.device,
            batch_size=args.batch_size,
            trust_checkpoint=args.trust_checkpoint,
            overrides=overrides,
        )
    except (ValueError, OSError, RuntimeError) as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    return 0
