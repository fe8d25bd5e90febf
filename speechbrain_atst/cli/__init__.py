"""The ``speechbrain-atst`` command line.

Each sub-command lives in its own module of this package, which defines
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only when their command runs, so ``--help`` is fast.

Example
-------
>>> parser = build_parser()
>>> args = parser.parse_args(
...     [
...         "evaluate",
...         "--scores",
...         "s",
...         "--ground_truth",
...         "gt.tsv",
...         "--durations",
...         "d.tsv",
...     ]
... )
>>> args.command
'evaluate'
"""

import argparse
import importlib
import sys

#: Sub-command name -> module implementing it.
COMMANDS = {
    "synth": "speechbrain_atst.cli.synth",
    "prepare": "speechbrain_atst.cli.prepare",
    "prepare-custom": "speechbrain_atst.cli.prepare_custom",
    "evaluate": "speechbrain_atst.cli.evaluate",
    "detect": "speechbrain_atst.cli.detect",
    "export": "speechbrain_atst.cli.export",
    "export-onnx": "speechbrain_atst.cli.export_onnx",
    "convert": "speechbrain_atst.cli.convert",
    "quickstart": "speechbrain_atst.cli.quickstart",
    "finetune": "speechbrain_atst.cli.finetune",
}


def _available():
    """Yields (name, module) for the commands whose module imports."""
    for name, path in COMMANDS.items():
        try:
            yield name, importlib.import_module(path)
        except ModuleNotFoundError as err:
            if err.name != path:
                raise


def build_parser():
    """Builds the argument parser with one sub-parser per command.

    Returns
    -------
    argparse.ArgumentParser
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="speechbrain-atst",
        description="ATST-SED sound event detection (SpeechBrain plugin)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module in _available():
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    """Entry point of the ``speechbrain-atst`` console script.

    Arguments
    ---------
    argv : list of str, optional
        Arguments (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        Exit status.
    """
    args = build_parser().parse_args(argv)
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
