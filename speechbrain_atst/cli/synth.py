"""``speechbrain-atst synth``: write a synthesized mini-DESED dataset.

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.data.synth import SCALES, synthesize_mini_desed

HELP = "Synthesize a small DESED-format dataset (no download needed)"


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
    >>> parser.parse_args(["out", "--scale", "0.5"]).scale
    '0.5'
    """
    parser.add_argument(
        "out_dir", help="Output folder (the DESED 'dataset' equivalent)"
    )
    parser.add_argument(
        "--scale",
        default="small",
        help=(
            f"Dataset size: {', '.join(SCALES)} or a multiplier of the "
            "'small' sizes (default: small)"
        ),
    )
    parser.add_argument("--seed", type=int, default=0, help="Random seed")
    parser.add_argument(
        "--classes",
        default=None,
        help="Comma-separated subset of the DESED classes, or a file",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="Replace wav files already in the output folders",
    )


def run(args):
    """Runs the command.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        Exit status (0).
    """
    out = synthesize_mini_desed(
        args.out_dir,
        scale=args.scale,
        seed=args.seed,
        classes=args.classes,
        overwrite=args.overwrite,
    )
    counts = ", ".join(f"{k} {v}" for k, v in out["counts"].items())
    print(f"Wrote {out['data_folder']} in {out['seconds']:.1f} s: {counts}")
    print(f"Next: speechbrain-atst prepare {out['data_folder']} <save_folder>")
    return 0
