"""``speechbrain-atst prepare-custom``: manifests for your own dataset.

Turns audio folders and label TSVs (strong and / or weak, optionally
unlabeled audio and a validation TSV) into the manifests, evaluation TSVs
and summary of :func:`~speechbrain_atst.data.custom.prepare_custom`, and
prints a summary table.

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_arguments(parser)
>>> args = parser.parse_args(
...     ["out", "--audio_dir", "a", "--audio_dir", "b", "--weak", "w.tsv"]
... )
>>> args.audio_dir, args.valid_fraction, args.seed
(['a', 'b'], 0.2, 42)

Authors
 * speechbrain-atst team 2026
"""

import logging
import sys

HELP = "Write SpeechBrain manifests for your own audio and label TSVs"


def add_arguments(parser):
    """Adds the ``prepare-custom`` options to ``parser``.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The sub-command parser.

    Example
    -------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> parser.parse_args(["out", "--audio_dir", "a"]).skip_missing
    False
    """
    parser.add_argument(
        "out_dir",
        help="Output folder (replaced if it holds an earlier preparation)",
    )
    parser.add_argument(
        "--audio_dir",
        action="append",
        required=True,
        help="Folder of the audio named in the TSVs (repeat for several; a "
        "file name found in two folders is an error)",
    )
    parser.add_argument(
        "--strong",
        default=None,
        help="Strong labels: TSV 'filename onset offset event_label'",
    )
    parser.add_argument(
        "--weak",
        default=None,
        help="Weak labels: TSV 'filename event_labels' (comma-separated)",
    )
    parser.add_argument(
        "--unlabeled_dir",
        default=None,
        help="Folder of unlabeled audio (recursive; labeled files left out)",
    )
    parser.add_argument(
        "--valid_strong",
        default=None,
        help="Strong labels of a validation set (replaces the held-out "
        "split of --strong)",
    )
    parser.add_argument(
        "--valid_audio_dir",
        default=None,
        help="Folder of the --valid_strong audio (default: --audio_dir)",
    )
    parser.add_argument(
        "--classes",
        default=None,
        help="Class list: comma-separated or a file with one per line "
        "(default: every label seen, sorted)",
    )
    parser.add_argument(
        "--valid_fraction",
        type=float,
        default=0.2,
        help="Share of the strong files held out for validation (default: 0.2)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="Split seed (default: 42)"
    )
    parser.add_argument(
        "--skip_missing",
        action="store_true",
        help="Leave out missing and unreadable audio files (listed in "
        "missing_files.txt / unreadable_files.txt) instead of stopping",
    )


def summary_table(summary):
    """The text table of a preparation summary.

    Arguments
    ---------
    summary : dict
        What :func:`~speechbrain_atst.data.custom.prepare_custom` returns.

    Returns
    -------
    str
        Files and hours per subset, then events (files) per class, then
        the notes.

    Example
    -------
    >>> summary = {
    ...     "subsets": {"strong_train": {"files": 3, "hours": 0.01}},
    ...     "per_class": {
    ...         "Dog": {
    ...             "strong_train_events": 4,
    ...             "strong_train_files": 2,
    ...             "weak_train_files": 0,
    ...             "valid_events": 1,
    ...             "valid_files": 1,
    ...         }
    ...     },
    ...     "notes": [],
    ... }
    >>> print(summary_table(summary))  # doctest: +NORMALIZE_WHITESPACE
    subset         files     hours
    strong_train       3    0.0100
    class     strong_train  weak_train       valid
    Dog              4 (2)           0       1 (1)
    """
    lines = [f"{'subset':12s} {'files':>7s} {'hours':>9s}"]
    for name, info in summary["subsets"].items():
        lines.append(f"{name:12s} {info['files']:7d} {info['hours']:9.4f}")
    width = max([5, *(len(c) for c in summary["per_class"])])
    lines.append(
        f"{'class':{width}s} {'strong_train':>12s} {'weak_train':>11s} "
        f"{'valid':>11s}"
    )
    for name, n in summary["per_class"].items():
        strong = f"{n['strong_train_events']} ({n['strong_train_files']})"
        valid = f"{n['valid_events']} ({n['valid_files']})"
        lines.append(
            f"{name:{width}s} {strong:>12s} {n['weak_train_files']:>11d} "
            f"{valid:>11s}"
        )
    lines += [f"Note: {note}" for note in summary.get("notes", [])]
    return "\n".join(lines)


def run(args):
    """Runs the command.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        Exit status: 0, or 1 for bad input (reported on stderr as
        ``ERROR: ...``).
    """
    from speechbrain_atst.data.custom import prepare_custom

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        summary = prepare_custom(
            args.out_dir,
            args.audio_dir,
            strong=args.strong,
            weak=args.weak,
            unlabeled_dir=args.unlabeled_dir,
            valid_strong=args.valid_strong,
            valid_audio_dir=args.valid_audio_dir,
            classes=args.classes,
            valid_fraction=args.valid_fraction,
            seed=args.seed,
            skip_missing=args.skip_missing,
        )
    except (ValueError, OSError) as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    print(summary_table(summary))
    print(
        "strong events (files) per class; weak: files. Written to "
        f"{summary['options']['out_dir']}"
    )
    return 0
