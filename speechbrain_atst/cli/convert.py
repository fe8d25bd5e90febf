"""``speechbrain-atst convert``: an official ATST-SED checkpoint to a model.

Example
-------
.. code-block:: bash

    speechbrain-atst convert Stage2_wo_ext.ckpt atst_sed_desed \\
        --trust_checkpoint

writes a model folder (``hyperparams.yaml``, ``model.ckpt`` as a plain
state dict, ``README.md``) with the ten DESED classes and the paper's
stage-2 median filters. Official Lightning checkpoints hold pickled Python
objects besides the weights: reading them requires ``--trust_checkpoint``
(only for files from a source you trust); the converted ``model.ckpt``
never does.

Authors
 * speechbrain-atst team 2026
"""

import sys

#: One-line description shown by ``speechbrain-atst --help``.
HELP = "Convert an official ATST-SED checkpoint into a model folder"


def add_arguments(parser):
    """Adds the command's arguments to ``parser``.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The sub-command parser.
    """
    parser.add_argument(
        "ckpt", metavar="OFFICIAL.ckpt", help="official stage-1/2 checkpoint"
    )
    parser.add_argument(
        "out_dir", metavar="OUT_DIR", help="model folder to write"
    )
    parser.add_argument(
        "--which",
        choices=["teacher", "student"],
        default="teacher",
        help="network to convert (default: %(default)s, as the official "
        "inference script)",
    )
    parser.add_argument("--embed_dim", type=int, default=768)
    parser.add_argument("--depth", type=int, default=12)
    parser.add_argument("--num_heads", type=int, default=12)
    parser.add_argument(
        "--trust_checkpoint",
        action="store_true",
        help="allow full unpickling of the file (runs code from it; only "
        "for trusted files)",
    )


def run(args):
    """Converts the checkpoint.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        0 on success, 1 on error.
    """
    from speechbrain_atst.checkpoints import UntrustedCheckpointError
    from speechbrain_atst.inference import convert_official

    try:
        out = convert_official(
            args.ckpt,
            args.out_dir,
            which=args.which,
            embed_dim=args.embed_dim,
            depth=args.depth,
            num_heads=args.num_heads,
            trust_checkpoint=args.trust_checkpoint,
        )
    except UntrustedCheckpointError as err:
        print(f"error: {err}\n(add --trust_checkpoint)", file=sys.stderr)
        return 1
    except Exception as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(
        f"Model folder written to {out} ({args.which}); load it with "
        f'SEDInterface.from_hparams(source="{out}")'
    )
    return 0
