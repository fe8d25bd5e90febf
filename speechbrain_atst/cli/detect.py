"""``speechbrain-atst detect``: sound events of audio files, as a TSV.

Example
-------
.. code-block:: bash

    speechbrain-atst detect recordings/ extra.flac --model my_model \\
        --out events.tsv --scores_dir scores/ --plot plots/

Directories are searched (recursively) for audio files. A file that cannot
be read (missing, empty, corrupt) is reported with its name and skipped;
the other files are processed and the command exits with status 1 at the
end, listing the failures. The detection itself is
:func:`speechbrain_atst.inference.detect_files`; this module expands the
inputs, loads the model, shows the progress and sets the exit status.

Authors
 * speechbrain-atst team 2026
"""

import contextlib
import sys
from pathlib import Path

#: One-line description shown by ``speechbrain-atst --help``.
HELP = "Detect sound events in audio files with a model folder or hub id"

#: File name extensions searched for in directories (libsndfile formats).
AUDIO_EXTENSIONS = (
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".aif",
    ".aiff",
    ".au",
)


def add_arguments(parser):
    """Adds the command's arguments to ``parser``.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The sub-command parser.
    """
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="FILE_OR_DIR",
        help="audio files, or folders searched recursively for audio files",
    )
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument(
        "--model",
        help="model folder (hyperparams.yaml + model.ckpt, see `export` and "
        "`convert`) or hub id",
    )
    model.add_argument(
        "--onnx",
        metavar="MODEL.onnx",
        help="run an ONNX model (see `export-onnx`) with onnxruntime "
        "instead of PyTorch",
    )
    parser.add_argument(
        "--out",
        default="events.tsv",
        help="events TSV: filename, onset, offset, event_label, score "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--scores_dir",
        help="also write one sed_scores_eval score TSV per file here",
    )
    parser.add_argument(
        "--plot",
        metavar="DIR",
        help="also write one PNG per file here (spectrogram, scores, "
        "events; needs matplotlib)",
    )
    parser.add_argument(
        "--threshold",
        default=None,
        help="decision threshold: one value (0.5), one per class "
        "(0.5,0.4,...) or per class name (Dog=0.3,Speech=0.6); default: "
        "the model's",
    )
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1... (default: auto)"
    )
    parser.add_argument(
        "--precision",
        default=None,
        choices=["fp32", "bf16", "fp16"],
        help="autocast precision of the model (default: fp32)",
    )
    parser.add_argument(
        "--hop_seconds",
        type=float,
        default=None,
        help="hop between 10 s windows on long audio (default: the model's)",
    )
    parser.add_argument(
        "--batch_size",
        type=int,
        default=None,
        help="windows per forward pass (default: the model's)",
    )
    live = parser.add_argument_group(
        "streaming",
        "--stream reads each input as a live stream and prints every event "
        "(TSV row) as soon as it is final; the input '-' reads raw "
        "interleaved PCM from standard input",
    )
    live.add_argument("--stream", action="store_true", help="stream the inputs")
    live.add_argument(
        "--chunk_seconds",
        type=float,
        default=0.5,
        help="audio per chunk fed to the detector (default: %(default)s)",
    )
    live.add_argument(
        "--realtime",
        action="store_true",
        help="feed files no faster than real time (as a live source)",
    )
    live.add_argument(
        "--rate", type=int, default=16000, help="PCM rate of stdin input"
    )
    live.add_argument(
        "--channels", type=int, default=1, help="PCM channels of stdin input"
    )
    live.add_argument(
        "--dtype",
        default="int16",
        choices=["int16", "int32", "float32", "float64"],
        help="PCM sample format of stdin input (little-endian)",
    )


def parse_threshold(text):
    """Parses the ``--threshold`` argument.

    Arguments
    ---------
    text : str or None
        ``"0.5"``, ``"0.5,0.4"`` or ``"Dog=0.3,Cat=0.6"``.

    Returns
    -------
    None, float, list of float or dict
        The threshold in a form :meth:`SEDInterface.thresholds` takes.

    Example
    -------
    >>> parse_threshold("0.3"), parse_threshold("0.2,0.4")
    (0.3, [0.2, 0.4])
    >>> parse_threshold("Dog=0.3")
    {'Dog': 0.3}
    """
    if text is None:
        return None
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    try:
        if any("=" in p for p in parts):
            pairs = [p.split("=", 1) for p in parts]
            return {k.strip(): float(v) for k, v in pairs}
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(
            f"Invalid --threshold {text!r}: expected a number, numbers "
            "separated by commas, or Class=number pairs"
        ) from None
    if not values:
        raise ValueError("Empty --threshold")
    return values[0] if len(values) == 1 else values


def collect_inputs(inputs):
    """Expands files and folders into ``(path, name)`` pairs.

    Folders are searched recursively for :data:`AUDIO_EXTENSIONS`; a
    file's ``name`` is its path relative to the folder given (or its file
    name when given directly).

    Arguments
    ---------
    inputs : list of str
        Files and folders from the command line.

    Returns
    -------
    tuple
        ``(entries, problems)``: the ``(path, name)`` pairs in order, and
        ``(input, reason)`` for folders without audio.

    Example
    -------
    >>> collect_inputs(["a.wav"])
    ([(PosixPath('a.wav'), 'a.wav')], [])
    """
    entries, problems = [], []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            # Broken links are kept, to be reported as failed files.
            found = sorted(
                p
                for p in path.rglob("*")
                if (p.is_file() or (p.is_symlink() and not p.exists()))
                and p.suffix.lower() in AUDIO_EXTENSIONS
            )
            if not found:
                problems.append((item, "no audio files in this folder"))
            entries.extend((p, p.relative_to(path).as_posix()) for p in found)
        else:
            entries.append((path, path.name))
    return entries, problems


def _load_model(args):
    """Loads ``--onnx`` or the interface of ``--model`` with the options."""
    if args.onnx:
        from speechbrain_atst.inference.onnx_runtime import OnnxSED

        if args.device or args.precision:
            raise ValueError("--device and --precision need --model")
        options = {}
        if args.hop_seconds is not None:
            options["hop_seconds"] = args.hop_seconds
        if args.batch_size is not None:
            options["batch_size"] = args.batch_size
        return OnnxSED(args.onnx, **options)
    from speechbrain_atst.inference import SEDInterface

    run_opts = {}
    if args.device:
        run_opts["device"] = args.device
    if args.precision:
        run_opts["precision"] = args.precision
    overrides = {}
    if args.hop_seconds is not None:
        overrides["hop_seconds"] = args.hop_seconds
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    return SEDInterface.from_hparams(
        source=args.model, run_opts=run_opts, overrides=overrides
    )


def _report(events, n_ok, failures, args):
    """Prints where the outputs are and lists the failures (stderr)."""
    print(f"{len(events)} events in {n_ok} file(s) written to {args.out}")
    if args.scores_dir and n_ok:
        print(f"Score TSVs in {args.scores_dir}")
    if args.plot and n_ok:
        print(f"Plots in {args.plot}")
    if failures:
        print(f"{len(failures)} input(s) failed:", file=sys.stderr)
        for item, reason in failures:
            print(f"  {item}: {reason}", file=sys.stderr)


def run(args):
    """Runs detection over the inputs.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        0 if every file was processed, 1 if some failed, 2 if nothing could
        start (bad model or arguments).
    """
    from tqdm import tqdm

    from speechbrain_atst.inference import detect_files, write_events

    try:
        threshold = parse_threshold(args.threshold)
        if args.plot:
            import matplotlib  # noqa: F401
        sed = _load_model(args)
        sed.thresholds(threshold)  # validates against the class list
    except Exception as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2

    if args.stream:
        return _run_stream(sed, threshold, args)
    entries, problems = collect_inputs(args.inputs)
    events, failures = detect_files(
        sed,
        entries,
        threshold=threshold,
        scores_dir=args.scores_dir,
        plot_dir=args.plot,
        progress=lambda items: tqdm(items, unit="file", desc="detect"),
        on_failure=lambda path, err: tqdm.write(
            f"FAILED {path}: {err}", file=sys.stderr
        ),
    )
    write_events(events, args.out)
    n_ok = len(entries) - len(failures)
    failures = problems + failures
    _report(events, n_ok, failures, args)
    return 1 if failures else 0


def _stream_updates(sed, path, threshold, args):
    """The updates of one input streamed (``-``: PCM from stdin)."""
    from speechbrain_atst.inference.stream import stream_file, stream_stdin

    options = {"threshold": threshold}
    if args.hop_seconds is not None:
        options["hop_seconds"] = args.hop_seconds
    if str(path) == "-":
        return stream_stdin(
            sed,
            args.rate,
            args.channels,
            args.dtype,
            chunk_seconds=args.chunk_seconds,
            **options,
        )
    return stream_file(
        sed,
        path,
        chunk_seconds=args.chunk_seconds,
        realtime=args.realtime,
        **options,
    )


def _run_stream(sed, threshold, args):
    """``--stream``: events printed (TSV) as soon as they are final.

    Each input is fed in chunks of ``--chunk_seconds``; an input that fails
    is reported and the others go on, as without ``--stream``. All events
    are also written to ``--out`` at the end.
    """
    import pandas as pd

    from speechbrain_atst.inference import EVENT_COLUMNS, write_events
    from speechbrain_atst.inference.stream import Event

    stdin = [p for p in args.inputs if p == "-"]
    entries, problems = collect_inputs([p for p in args.inputs if p != "-"])
    entries = [("-", "stdin")] * bool(stdin) + list(entries)
    rows, failures = [], []
    print("\t".join(EVENT_COLUMNS), flush=True)
    for path, name in entries:
        try:
            for update in _stream_updates(sed, path, threshold, args):
                if isinstance(update, Event):
                    row = (name, *update)
                    rows.append(row)
                    print(
                        f"{name}\t{update.onset:.3f}\t{update.offset:.3f}\t"
                        f"{update.event_label}\t{update.score:.4f}",
                        flush=True,
                    )
        except Exception as err:
            failures.append((str(path), f"{type(err).__name__}: {err}"))
            print(f"FAILED {path}: {err}", file=sys.stderr)
    events = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    write_events(events, args.out)
    n_ok = len(entries) - len(failures)
    failures = problems + failures
    # Standard output carries the events only: the summary goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        _report(events, n_ok, failures, args)
    return 1 if failures else 0
