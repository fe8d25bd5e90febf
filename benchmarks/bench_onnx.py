"""Speed, memory and parity of the ONNX detector next to SEDInterface.

Writes a model folder with an ATSTSED of the paper's size (ATST-Frame
base: 768 / 12 / 12, random weights), exports it with
:func:`speechbrain_atst.inference.onnx_export.export_onnx` (float32, and
float16 for the parity figure) and measures, side by side in one run on
the CPU:

1. seconds per 10 s clip at batch 1 and 8 of ``SEDInterface`` (float32)
   and ``OnnxSED`` (onnxruntime, float32): ``frame_scores_batch`` on
   synthesized clips (front-ends, model, merging, median filter);
2. the peak resident memory (RSS) of each, each in a fresh subprocess
   that loads the runtime and scores 8 clips at batch 8 (``OnnxSED``
   without importing torch);
3. the largest frame-score difference of the float32 and float16 exports
   from ``SEDInterface`` on those clips.

Writes JSON and a markdown table (default ``benchmarks/results/onnx.json``
/ ``.md``).

Usage::

    python benchmarks/bench_onnx.py [--tiny] [--out PATH]

Authors
 * speechbrain-atst team 2026
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_inference import clip_batch  # noqa: E402
from bench_utils import (  # noqa: E402
    RESULTS_DIR,
    add_quiet_arguments,
    fmt,
    machine_info,
    markdown_table,
    quiet_kwargs,
    time_call,
    write_results,
)

from speechbrain_atst.labels import DESED_CLASSES  # noqa: E402

#: The paper's transformer and a tiny one for smoke runs.
BASE = {"embed_dim": 768, "depth": 12, "num_heads": 12}
TINY = {"embed_dim": 32, "depth": 1, "num_heads": 2}
#: Names of the two runtimes in the results.
RUNTIMES = ("SEDInterface fp32", "OnnxSED fp32")


def synth_clips(n_clips, seconds=10.0, seed=0):
    """Synthesized clips with events as a float32 NumPy array
    (:func:`bench_inference.clip_batch`)."""
    return clip_batch(n_clips, seconds=seconds, seed=seed).numpy()


def make_folder(root, arch):
    """A model folder with a random ATSTSED of size ``arch``."""
    from speechbrain_atst.inference.export import write_model_folder
    from speechbrain_atst.lobes.atst_sed import ATSTSED

    torch.manual_seed(0)
    return write_model_folder(
        ATSTSED(**arch).state_dict(),
        Path(root) / "model",
        classes=DESED_CLASSES,
        median_windows=[6, 20, 7, 4, 7, 6, 6, 6, 6, 6],
        **arch,
    )


def load_runtime(name, folder, onnx_path, batch_size):
    """``SEDInterface`` or ``OnnxSED`` with ``batch_size`` windows a run."""
    if name == RUNTIMES[0]:
        from speechbrain_atst.inference.interface import SEDInterface

        return SEDInterface.from_hparams(
            folder,
            run_opts={"device": "cpu"},
            overrides={"batch_size": batch_size},
        )
    from speechbrain_atst.inference.onnx_runtime import OnnxSED

    return OnnxSED(onnx_path, batch_size=batch_size)


def measure_rss(name, folder, onnx_path, clips_path):
    """Peak RSS (MiB, ``VmHWM``) of a fresh process scoring the clips.

    The process imports only the runtime (``OnnxSED`` does not import
    torch), reads the clips from ``clips_path`` (``.npy``) and scores them.
    """
    if name == RUNTIMES[0]:
        load = (
            "from speechbrain_atst.inference.interface import SEDInterface\n"
            f"sed = SEDInterface.from_hparams({str(folder)!r}, "
            "run_opts={'device': 'cpu'}, overrides={'batch_size': 8})\n"
        )
    else:
        load = (
            "from speechbrain_atst.inference.onnx_runtime import OnnxSED\n"
            f"sed = OnnxSED({str(onnx_path)!r}, batch_size=8)\n"
        )
    code = (
        "import json, sys\n"
        "import numpy as np\n"
        + load
        + f"sed.frame_scores_batch(np.load({str(clips_path)!r}))\n"
        # VmHWM: ru_maxrss would carry the parent's peak over the exec.
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "peak = int(status.split()[0]) / 1024\n"
        "print(json.dumps({'peak_rss_mb': peak, "
        "'torch_loaded': 'torch' in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def parity(folder, exports, clips):
    """Max abs frame-score difference of each export from SEDInterface."""
    from speechbrain_atst.inference.onnx_runtime import OnnxSED

    ref = load_runtime(RUNTIMES[0], folder, None, len(clips))
    want = np.stack(ref.frame_scores_batch(clips))
    out = {"score_std": float(want.std())}
    for precision, path in exports.items():
        got = np.stack(OnnxSED(path).frame_scores_batch(clips))
        out[f"{precision}_max_abs_diff"] = float(np.abs(got - want).max())
        out[f"{precision}_mean_abs_diff"] = float(np.abs(got - want).mean())
    return out


def markdown(result):
    """The markdown report of a run."""
    rows = [
        [
            row["runtime"],
            str(row["batch"]),
            fmt(row["seconds_per_clip"]),
            f"{row['peak_rss_mb']:.0f}" if row.get("peak_rss_mb") else "",
        ]
        for row in result["rows"]
    ]
    table = markdown_table(
        ["runtime", "batch", "s / 10 s clip", "peak RSS (MiB, batch 8)"],
        rows,
    )
    par = result["parity"]
    info = result["machine"]
    return "\n".join(
        [
            f"# ONNX detector vs SEDInterface ({result['model']})",
            "",
            table,
            "",
            f"Frame-score difference from SEDInterface on "
            f"{result['n_clips']} synthesized clips: fp32 max "
            f"{par['fp32_max_abs_diff']:.2e}"
            + (
                f", fp16 max {par['fp16_max_abs_diff']:.2e}"
                if "fp16_max_abs_diff" in par
                else ""
            )
            + f" (score std {par['score_std']:.3f}).",
            "",
            f"Export: {fmt(result['export_seconds']['fp32'])} s (fp32), "
            f"file {result['onnx_mb']:.0f} MiB. "
            f"{info['cpu_model']}, {info['cpu_count']} cores, torch "
            f"threads {info['torch_threads']}, onnxruntime "
            f"{result['onnxruntime']}; 1-minute load average "
            f"{info['load_average_1min']} at start, "
            f"{result['load_average_1min_end']} at the end.",
        ]
    )


def main(argv=None):
    """Runs the benchmark.

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    dict
        The results.
    """
    import onnxruntime

    from speechbrain_atst.inference.onnx_export import export_onnx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="smoke run")
    parser.add_argument("--out", default=str(RESULTS_DIR / "onnx.json"))
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument(
        "--no-fp16", action="store_true", help="skip the fp16 export"
    )
    add_quiet_arguments(parser)
    args = parser.parse_args(argv)
    arch = TINY if args.tiny else BASE
    repeat = args.repeat or (1 if args.tiny else 2)
    quiet = quiet_kwargs(args) if not args.tiny else {}
    result = {"machine": machine_info(), "onnxruntime": onnxruntime.__version__}
    result["model"] = "ATSTSED {embed_dim}/{depth}/{num_heads}".format(**arch)
    clips = synth_clips(8)
    result["n_clips"] = len(clips)
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_folder(tmp, arch)
        exports, seconds = {}, {}
        for precision in ("fp32",) if args.no_fp16 else ("fp32", "fp16"):
            start = time.perf_counter()
            exports[precision] = export_onnx(
                folder, Path(tmp) / f"sed_{precision}.onnx", precision=precision
            )
            seconds[precision] = time.perf_counter() - start
        result["export_seconds"] = seconds
        result["onnx_mb"] = os.path.getsize(exports["fp32"]) / 2**20
        result["parity"] = parity(folder, exports, clips)
        clips_path = Path(tmp) / "clips.npy"
        np.save(clips_path, clips)
        rows = []
        for name in RUNTIMES:
            memory = measure_rss(name, folder, exports["fp32"], clips_path)
            for batch in (1, 8):
                sed = load_runtime(name, folder, exports["fp32"], batch)
                timing = time_call(
                    lambda sed=sed, batch=batch: sed.frame_scores_batch(
                        clips[:batch]
                    ),
                    repeat=repeat,
                    **quiet,
                )
                rows.append(
                    {
                        "runtime": name,
                        "batch": batch,
                        "seconds_per_clip": timing["median"] / batch,
                        "timing": timing,
                        "peak_rss_mb": (
                            memory["peak_rss_mb"] if batch == 8 else None
                        ),
                        "torch_loaded": memory["torch_loaded"],
                    }
                )
        result["rows"] = rows
    result["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    write_results(result, args.out, markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
