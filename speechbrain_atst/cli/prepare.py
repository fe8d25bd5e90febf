"""``speechbrain-atst prepare``: write manifests for a DESED tree.

Authors
 * speechbrain-atst team 2026
"""

import json
import logging
import sys

from speechbrain_atst.data.desed import (
    MANIFESTS,
    prepare_desed,
    resolve_strong_split,
)

HELP = "Write SpeechBrain manifests and evaluation TSVs for a DESED folder"


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
    >>> parser.parse_args(["data", "save", "--skip_missing"]).skip_missing
    True
    """
    parser.add_argument(
        "data_folder", help="DESED 'dataset' folder (audio/, metadata/)"
    )
    parser.add_argument("save_folder", help="Where manifests are written")
    add_options(parser)


def add_options(parser):
    """Adds the options shared with the recipe's ``desed_prepare.py``.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The parser.

    Example
    -------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_options(parser)
    >>> parser.parse_args([]).strong_split_lists
    'official'
    """
    parser.add_argument(
        "--skip_missing",
        action="store_true",
        help="Leave out audio files the TSVs name but the folder lacks or "
        "that cannot be read (listed in missing_files.txt / "
        "unreadable_files.txt)",
    )
    parser.add_argument(
        "--classes",
        default=None,
        help="Class list: comma-separated or a file (default: DESED's 10)",
    )
    parser.add_argument(
        "--weak_split",
        type=float,
        default=0.9,
        help="Training fraction of the weak set (default: 0.9)",
    )
    parser.add_argument(
        "--strong_split_lists",
        default="official",
        help="Split of the real strong set: 'official' (ATST-SED's fixed "
        "lists of 3,000 training / 373 validation clips, the default), "
        "'random' (--strong_split, --seed) or two files of file names "
        "'TRAIN,VALID'",
    )
    parser.add_argument(
        "--strong_split",
        type=float,
        default=0.9,
        help="Training fraction of the real strong set with "
        "--strong_split_lists random (default: 0.9)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="Split seed (default: 42)"
    )
    parser.add_argument(
        "--strong_train_tsv",
        default=None,
        help="Strong train TSV of a fixed split (with --strong_valid_tsv)",
    )
    parser.add_argument(
        "--strong_valid_tsv",
        default=None,
        help="Strong validation TSV of a fixed split",
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
        Exit status: 0, or 1 for bad input (malformed metadata, missing or
        unreadable audio), reported on stderr.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        out = prepare_desed(
            args.data_folder,
            args.save_folder,
            classes=args.classes,
            skip_missing=args.skip_missing,
            weak_split=args.weak_split,
            strong_split=args.strong_split,
            seed=args.seed,
            strong_train_tsv=args.strong_train_tsv,
            strong_valid_tsv=args.strong_valid_tsv,
            strong_split_lists=None
            if args.strong_train_tsv
            else resolve_strong_split(args.strong_split_lists),
        )
    except (ValueError, OSError) as err:
        print(f"speechbrain-atst prepare: error: {err}", file=sys.stderr)
        return 1
    for name in MANIFESTS:
        if name in out:
            with open(out[name], encoding="utf-8") as fin:
                count = len(json.load(fin))
            print(f"{name:13s} {count:6d} clips  {out[name]}")
    if "missing_files" in out:
        print(f"Missing audio files listed in {out['missing_files']}")
    if "unreadable_files" in out:
        print(f"Unreadable audio files listed in {out['unreadable_files']}")
    return 0
