"""``speechbrain-atst export-onnx``: a model folder as one ONNX file.

Example
-------
.. code-block:: bash

    speechbrain-atst export-onnx my_model detector.onnx --precision fp32

writes ``detector.onnx``: 16 kHz waveform windows ``[batch, 160000]`` to
frame scores ``[batch, 156, classes]``, both front-ends included, with the
class names, thresholds, median filters and window settings as metadata;
run it without PyTorch with
``speechbrain_atst.inference.onnx_runtime.OnnxSED("detector.onnx")``
(needs the ``onnx`` extra: onnx and onnxruntime).

Authors
 * speechbrain-atst team 2026
"""

import sys

#: One-line description shown by ``speechbrain-atst --help``.
HELP = "Export a model folder as one ONNX file (front-ends included)"


def add_arguments(parser):
    """Adds the command's arguments to ``parser``.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The sub-command parser.
    """
    parser.add_argument(
        "model_dir",
        metavar="MODEL_DIR",
        help="model folder (hyperparams.yaml + model.ckpt)",
    )
    parser.add_argument(
        "out_path", metavar="OUT.onnx", help="ONNX file to write"
    )
    parser.add_argument(
        "--opset",
        type=int,
        default=17,
        help="ONNX opset, 17 or later (default: %(default)s)",
    )
    parser.add_argument(
        "--precision",
        choices=["fp32", "fp16"],
        default="fp32",
        help="fp16 runs the network in float16, the front-ends in float32 "
        "(default: %(default)s)",
    )


def run(args):
    """Exports the model folder.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    int
        0 on success, 1 on error.
    """
    from speechbrain_atst.inference.onnx_export import export_onnx

    try:
        out = export_onnx(
            args.model_dir,
            args.out_path,
            opset=args.opset,
            precision=args.precision,
        )
    except Exception as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(
        f"ONNX detector written to {out} ({args.precision}, opset "
        f"{args.opset}); run it with "
        f'OnnxSED("{out}") from speechbrain_atst.inference.onnx_runtime'
    )
    return 0
