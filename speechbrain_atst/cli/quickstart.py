"""``speechbrain-atst quickstart``: the whole pipeline on synthesized data.

Synthesizes a mini-DESED, trains both ATST-SED stages with the recipe
(a small transformer initialised at random), evaluates them and an
untrained model, exports the stage-2 teacher and runs detection on a
clip; see :mod:`speechbrain_atst.quickstart`. Rerunning the command skips
the steps already done.

Authors
 * speechbrain-atst team 2026
"""

import sys

import yaml

HELP = (
    "Run the whole pipeline (synthesize, prepare, train both stages, "
    "evaluate, export, detect) on a mini-DESED, about 10 min on 2 CPU cores"
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
    >>> args = parser.parse_args(["--override", "train_clip_seconds=2.0"])
    >>> args.out_dir, args.override
    ('atst_quickstart', ['train_clip_seconds=2.0'])
    """
    from speechbrain_atst.quickstart import (
        DEFAULT_DATA_SEED,
        DEFAULT_OUT_DIR,
        DEFAULT_SCALE,
        DEFAULT_SEED,
    )

    parser.add_argument(
        "--out_dir",
        default=DEFAULT_OUT_DIR,
        help="folder of every output (default: %(default)s)",
    )
    parser.add_argument(
        "--scale",
        default=DEFAULT_SCALE,
        help="size of the synthesized dataset: quickstart, small, "
        "benchmark or a multiplier of the 'small' sizes (default: "
        "%(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="training seed, also the untrained model's (default: %(default)s)",
    )
    parser.add_argument(
        "--data_seed",
        type=int,
        default=DEFAULT_DATA_SEED,
        help="seed of the synthesized dataset (default: %(default)s)",
    )
    parser.add_argument(
        "--device",
        default=None,
        help="cpu, cuda, cuda:1... (default: a GPU if there is one)",
    )
    parser.add_argument(
        "--stage1_epochs",
        type=int,
        default=None,
        help="epochs of stage 1 (default: hparams/quickstart.yaml)",
    )
    parser.add_argument(
        "--stage2_epochs",
        type=int,
        default=None,
        help="epochs of stage 2 (default: hparams/quickstart.yaml)",
    )
    parser.add_argument(
        "--custom",
        action="store_true",
        help="then fine-tune the quickstart's model on synthesized sounds "
        "of four other classes and compare it with training from scratch "
        "(your own sounds path; a few more minutes)",
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a recipe hyperparameter for both stages, on top of "
        "hparams/quickstart.yaml (repeatable), e.g. "
        "--override train_clip_seconds=2.0",
    )


def parse_overrides(items):
    """Parses ``KEY=VALUE`` items; values are read as YAML.

    Arguments
    ---------
    items : list of str
        The ``--override`` values.

    Returns
    -------
    dict
        ``{key: value}``.

    Example
    -------
    >>> parse_overrides(["batch_sizes=[1, 2, 1, 1]", "dropout=0.1"])
    {'batch_sizes': [1, 2, 1, 1], 'dropout': 0.1}
    """
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().lstrip("-")
        if not sep or not key:
            raise ValueError(f"--override {item!r}: expected KEY=VALUE")
        try:
            out[key] = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(
                f"--override {item!r}: bad value ({err})"
            ) from None
    return out


def run(args):
    """Runs the command.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        0 on success, 1 if a step failed, 2 for bad arguments.
    """
    from speechbrain_atst.quickstart import QuickstartError, run_quickstart

    try:
        overrides = parse_overrides(args.override)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        summary = run_quickstart(
            out_dir=args.out_dir,
            scale=args.scale,
            seed=args.seed,
            data_seed=args.data_seed,
            device=args.device,
            stage1_epochs=args.stage1_epochs,
            stage2_epochs=args.stage2_epochs,
            overrides=overrides,
        )
        if args.custom:
            from speechbrain_atst.quickstart.custom import run_custom

            run_custom(
                args.out_dir,
                summary["outputs"]["model"],
                summary["device"],
                seed=args.seed,
                data_seed=args.data_seed,
            )
    except (
        QuickstartError,
        FileExistsError,
        FileNotFoundError,
        ValueError,  # --custom: bad data
        RuntimeError,  # --custom: a failed run
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
