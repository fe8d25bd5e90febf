"""The whole detector as one ONNX file, run with onnxruntime.

A tiny ATSTSED with random weights is written as a model folder, exported
in float32 and float16 and run with :class:`OnnxSED`; its frame scores,
score DataFrames and events must match ``SEDInterface`` on synthesized
clips (tones and noises over backgrounds) of several lengths.

Authors
 * speechbrain-atst team 2026
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
import soundfile as sf
import torch

from speechbrain_atst.cli import main
from speechbrain_atst.data.synth import place_events, render_clip
from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
from speechbrain_atst.inference import (
    SEDInterface,
    detect_files,
    write_model_folder,
)
from speechbrain_atst.inference.onnx_export import ExportMel, export_onnx
from speechbrain_atst.inference.onnx_runtime import OnnxSED, read_metadata
from speechbrain_atst.labels import DESED_CLASSES
from speechbrain_atst.lobes.atst_sed import ATSTSED

ARCH = {"embed_dim": 32, "depth": 1, "num_heads": 2}
CLASSES = ["Dog", "Cat", "Speech"]
MEDIAN = [3, 5, 1]
THRESHOLD = [0.5, 0.45, 0.55]
#: Largest frame-score difference of the float16 export from float32
#: (measured: 3e-5 on this tiny model; see the benchmark for the base model).
FP16_TOLERANCE = 2e-3


def synth_clip(seconds, seed, sample_rate=16000):
    """A synthesized clip with DESED-like events over a background."""
    rng = np.random.default_rng(seed)
    labels = list(rng.choice(DESED_CLASSES, size=4))
    events = place_events(rng, labels, seconds)
    wav, _ = render_clip(rng, int(seconds * 16000), events, (0.0, 10.0))
    return wav.astype(np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A model folder with a tiny random ATSTSED."""
    torch.manual_seed(0)
    return write_model_folder(
        ATSTSED(n_classes=len(CLASSES), **ARCH).state_dict(),
        tmp_path_factory.mktemp("onnx") / "model",
        classes=CLASSES,
        median_windows=MEDIAN,
        threshold=THRESHOLD,
        **ARCH,
    )


@pytest.fixture(scope="module")
def sed(folder):
    return SEDInterface.from_hparams(folder, run_opts={"device": "cpu"})


@pytest.fixture(scope="module")
def onnx_fp32(folder):
    return export_onnx(folder, folder.parent / "fp32" / "sed.onnx")


@pytest.fixture(scope="module")
def onnx_fp16(folder):
    return export_onnx(
        folder, folder.parent / "sed_fp16.onnx", precision="fp16"
    )


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Synthesized 16 kHz WAV files of 3 s, 10 s and 25 s."""
    root = tmp_path_factory.mktemp("clips")
    paths = []
    for seed, seconds in enumerate([3, 10, 25]):
        path = root / f"clip_{seconds}s.wav"
        sf.write(path, synth_clip(seconds, seed), 16000, subtype="FLOAT")
        paths.append(path)
    return paths


@pytest.mark.parametrize("front_cls", [CNNFrontEnd, ATSTFrontEnd])
def test_export_mel_equals_frontend(front_cls):
    front = front_cls()
    wavs = torch.from_numpy(np.stack([synth_clip(10, s) for s in (3, 4)]))
    wavs[1] *= 0.01  # a quiet clip: the floor and clamps matter
    with torch.inference_mode():
        diff = (ExportMel(front)(wavs) - front(wavs)).abs().max()
    assert float(diff) < 1e-5


def test_frame_scores_match_sedinterface(sed, onnx_fp32, clips):
    onnx_sed = OnnxSED(onnx_fp32)
    for path in clips:
        ref = sed.frame_scores_file(path)
        got = onnx_sed.frame_scores_file(path)
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() < 1e-4
        raw = onnx_sed.frame_scores_file(path, median=False)
        raw_ref = sed.frame_scores_file(path, median=False)
        assert np.abs(raw - raw_ref).max() < 1e-4
        pd.testing.assert_frame_equal(
            onnx_sed.scores_file(path), sed.scores_file(path), atol=1e-4
        )


def test_events_match_sedinterface(sed, onnx_fp32, clips):
    onnx_sed = OnnxSED(onnx_fp32)
    n_events = 0
    for path in clips:
        scores = sed.frame_scores_file(path)
        threshold = clear_threshold(scores)
        ref = sed.detect_file(path, threshold=threshold)
        got = onnx_sed.detect_file(path, threshold=threshold)
        columns = ["filename", "onset", "offset", "event_label"]
        pd.testing.assert_frame_equal(got[columns], ref[columns])
        np.testing.assert_allclose(got["score"], ref["score"], atol=1e-4)
        n_events += len(ref)
    assert n_events > 0


def test_batch_of_waveforms(sed, onnx_fp32):
    wavs = np.zeros((2, 16000 * 12), np.float32)
    wavs[0] = synth_clip(12, 7)
    wavs[1, : 16000 * 4] = synth_clip(4, 8)
    lens = np.array([1.0, 4 / 12])
    onnx_sed = OnnxSED(onnx_fp32, batch_size=3)
    got = onnx_sed.frame_scores_batch(wavs, lens)
    ref = sed.frame_scores_batch(torch.from_numpy(wavs), torch.from_numpy(lens))
    assert [g.shape for g in got] == [(188, 3), (63, 3)]
    for g, r in zip(got, ref):
        assert np.abs(g - r).max() < 1e-4
    events = onnx_sed.detect_batch(wavs, lens, threshold=0.0)
    assert set(events["filename"]) == {"0", "1"}
    assert events["offset"].max() <= 12.0


def test_fp16_within_tolerance(sed, onnx_fp16, clips):
    onnx_sed = OnnxSED(onnx_fp16)
    assert onnx_sed.precision == "fp16"
    for path in clips:
        got = onnx_sed.frame_scores_file(path)
        assert np.abs(got - sed.frame_scores_file(path)).max() < FP16_TOLERANCE


def test_dynamic_batch(onnx_fp32):
    session = ort.InferenceSession(str(onnx_fp32))
    wavs = np.stack([synth_clip(10, s) for s in (1, 2, 3)])
    three = session.run(None, {"waveform": wavs})[0]
    assert three.shape == (3, 156, len(CLASSES))
    for i in range(3):
        one = session.run(None, {"waveform": wavs[i : i + 1]})[0]
        assert np.abs(one[0] - three[i]).max() < 1e-5


def test_metadata_round_trip(sed, onnx_fp32):
    meta = read_metadata(onnx_fp32)
    assert meta["classes"] == CLASSES
    assert meta["sample_rate"] == 16000
    assert meta["window_seconds"] == 10.0
    assert meta["hop_seconds"] == sed.hop_seconds
    assert meta["frame_seconds"] == 0.064
    assert meta["median_windows"] == MEDIAN
    assert meta["thresholds"] == pytest.approx(THRESHOLD)
    assert meta["merge"] == "crossfade"
    assert meta["precision"] == "fp32"
    proto = onnx.load(str(onnx_fp32))
    assert proto.graph.input[0].name == "waveform"
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 160000
    onnx_sed = OnnxSED(onnx_fp32, hop_seconds=3.0, threshold=0.7)
    assert onnx_sed.hop_seconds == 3.008
    assert onnx_sed.thresholds().tolist() == [0.7] * 3
    assert onnx_sed.thresholds({"Cat": 0.2}).tolist() == [0.7, 0.2, 0.7]


def test_not_an_exported_detector(tmp_path):
    with pytest.raises(FileNotFoundError, match="ONNX model not found"):
        OnnxSED(tmp_path / "missing.onnx")
    node = onnx.helper.make_node("Identity", ["x"], ["y"])
    value = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    out = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    graph = onnx.helper.make_graph([node], "g", [value], [out])
    onnx.save(onnx.helper.make_model(graph), tmp_path / "other.onnx")
    with pytest.raises(ValueError, match="not an ATST-SED detector"):
        OnnxSED(tmp_path / "other.onnx")


def test_torch_free(onnx_fp32, clips):
    code = textwrap.dedent(
        f"""
        import sys
        from speechbrain_atst.inference.onnx_runtime import OnnxSED
        sed = OnnxSED({str(onnx_fp32)!r})
        events = sed.detect_file({str(clips[0])!r}, threshold=0.0)
        assert len(events) > 0, events
        sed.scores_file({str(clips[2])!r})
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in
                        ("torch", "torchaudio", "speechbrain"))
        assert not loaded, loaded
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def clear_threshold(scores, margin=1e-5):
    """A threshold near the median score, at least ``margin`` from every
    score (random weights give mid scores; ties would flip on rounding)."""
    values = np.unique(scores)
    gaps = np.flatnonzero(np.diff(values) > 2 * margin)
    assert len(gaps), "no clear threshold"
    i = gaps[np.argmin(np.abs(gaps - len(values) // 2))]
    return float(values[i] + values[i + 1]) / 2


def _error(fn, *args):
    """``(type, message)`` of what ``fn(*args)`` raises."""
    try:
        fn(*args)
    except Exception as err:
        return type(err), str(err)
    raise AssertionError("no error")


def test_bad_input_same_errors(sed, onnx_fp32, tmp_path):
    onnx_sed = OnnxSED(onnx_fp32)
    nan = np.zeros(16000, np.float32)
    nan[8000] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 16000, subtype="FLOAT")
    sf.write(tmp_path / "ok.wav", nan[:4000] * 0, 16000)
    whole = (tmp_path / "ok.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[: len(whole) // 2])
    for name in ["missing.wav", "nan.wav", "cut.wav"]:
        path = tmp_path / name
        for method in ["detect_file", "frame_scores_file", "scores_file"]:
            ref = _error(getattr(sed, method), path)
            assert _error(getattr(onnx_sed, method), path) == ref
    ref = _error(sed.frame_scores_batch, torch.from_numpy(nan)[None])
    assert _error(onnx_sed.frame_scores_batch, nan[None]) == ref
    assert "NaN" in ref[1]


def test_resampled_input_close(sed, onnx_fp32, tmp_path):
    """Other rates go through SciPy instead of torchaudio: close scores."""
    from scipy.signal import resample_poly

    wav = resample_poly(synth_clip(6, 11), 441, 160).astype(np.float32)
    sf.write(tmp_path / "cd.wav", wav, 44100, subtype="FLOAT")
    got = OnnxSED(onnx_fp32).frame_scores_file(tmp_path / "cd.wav")
    ref = sed.frame_scores_file(tmp_path / "cd.wav")
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-2


def test_detect_files_runs_onnx(onnx_fp32, sed, clips, tmp_path):
    onnx_sed = OnnxSED(onnx_fp32)
    entries = [*clips, tmp_path / "missing.wav"]
    events, failures = detect_files(
        onnx_sed, entries, threshold=0.5, scores_dir=tmp_path / "scores"
    )
    ref, ref_failures = detect_files(sed, entries, threshold=0.5)
    columns = ["filename", "onset", "offset", "event_label"]
    pd.testing.assert_frame_equal(events[columns], ref[columns])
    assert [f[1] for f in failures] == [f[1] for f in ref_failures]
    assert len(list((tmp_path / "scores").glob("*.tsv"))) == len(clips)


def test_cli_export_onnx(folder, clips, tmp_path, capsys):
    out = tmp_path / "cli" / "detector.onnx"
    assert main(["export-onnx", str(folder), str(out), "--opset", "18"]) == 0
    assert "ONNX detector written" in capsys.readouterr().out
    assert OnnxSED(out).frame_scores_file(clips[0]).shape == (47, 3)
    assert onnx.load(str(out)).opset_import[0].version == 18
    bad = main(["export-onnx", str(tmp_path / "nope"), str(out)])
    assert bad == 1
    assert "Model folder not found" in capsys.readouterr().err
    assert main(["export-onnx", str(folder), str(out), "--opset", "16"]) == 1


def test_cli_detect_with_onnx(folder, onnx_fp32, clips, tmp_path, capsys):
    """``detect --onnx`` gives the events of ``detect --model``, also when
    streaming (the stream runs OnnxSED's windows)."""
    files = [str(c) for c in clips]
    outs = {}
    for name, model in [
        ("torch", ["--model", str(folder)]),
        ("onnx", ["--onnx", str(onnx_fp32)]),
        ("onnx_stream", ["--onnx", str(onnx_fp32), "--stream"]),
    ]:
        outs[name] = tmp_path / f"{name}.tsv"
        args = ["detect", *files, *model, "--out", str(outs[name])]
        assert main([*args, "--threshold", "0.5"]) == 0
    capsys.readouterr()
    key = ["filename", "event_label", "onset"]
    frames = {
        k: pd.read_csv(v, sep="\t").sort_values(key).reset_index(drop=True)
        for k, v in outs.items()
    }
    columns = ["filename", "onset", "offset", "event_label"]
    assert len(frames["torch"]) > 0
    for name in ("onnx", "onnx_stream"):
        pd.testing.assert_frame_equal(
            frames[name][columns], frames["torch"][columns]
        )
    assert (
        main(["detect", files[0], "--onnx", str(onnx_fp32), "--device", "cpu"])
        == 2
    )
    assert "--device" in capsys.readouterr().err


@pytest.mark.slow
def test_benchmark_smoke(folder, tmp_path):
    bench = Path(__file__).resolve().parents[2] / "benchmarks"
    sys.path.insert(0, str(bench))
    threads = torch.get_num_threads()
    try:
        import bench_onnx

        bench_onnx.main(["--tiny", "--out", str(tmp_path / "onnx.json")])
    finally:
        torch.set_num_threads(threads)
    result = json.loads((tmp_path / "onnx.json").read_text())
    assert (tmp_path / "onnx.md").read_text().strip()
    assert {row["runtime"] for row in result["rows"]} == {
        "SEDInterface fp32",
        "OnnxSED fp32",
    }
    assert result["parity"]["fp32_max_abs_diff"] < 1e-4
