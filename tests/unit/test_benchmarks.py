"""The benchmark scripts run and write the results they promise.

Each script runs in its quick mode (tiny transformer, short clips, one
thread) into a shared folder that ``run_all.py --summarize`` then
summarises. The scripts' ``main`` functions run in this process (the
training benchmark still measures in a fresh subprocess, as always). No
timing is asserted.

Authors
 * speechbrain-atst team 2026
"""

import importlib
import json
import sys
from pathlib import Path

import pytest
import torch

#: Smoke runs of the benchmark scripts.
pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def bench_main(name, *args):
    """Runs ``benchmarks/<name>.py``'s ``main(args)``; restores threads."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    threads = torch.get_num_threads()
    try:
        return importlib.import_module(name).main([str(a) for a in args])
    finally:
        torch.set_num_threads(threads)


def load(path):
    """Reads a JSON result and checks the markdown file next to it."""
    path = Path(path)
    assert path.with_suffix(".md").read_text(encoding="utf-8").strip()
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bench_results")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A model folder with a tiny random ATSTSED (the DESED classes)."""
    from speechbrain_atst.inference.export import write_model_folder
    from speechbrain_atst.labels import DESED_CLASSES
    from speechbrain_atst.lobes.atst_sed import ATSTSED

    torch.manual_seed(0)
    arch = {"embed_dim": 32, "depth": 1, "num_heads": 2}
    return write_model_folder(
        ATSTSED(**arch).state_dict(),
        tmp_path_factory.mktemp("bench_model") / "model",
        classes=DESED_CLASSES,
        median_windows=3,
        **arch,
    )


@pytest.fixture(scope="module")
def inference(results_dir, model_dir):
    out = results_dir / "inference.json"
    bench_main("bench_inference", "--tiny", "--model", model_dir, "--out", out)
    return load(out)


@pytest.fixture(scope="module")
def training(results_dir):
    out = results_dir / "training.json"
    bench_main("bench_training", "--tiny", "--settings", "stage1", "--out", out)
    return load(out)


def test_gpu_check_cpu_smoke(tmp_path):
    out = tmp_path / "gpu_check.json"
    result = bench_main("gpu_check", "--cpu-smoke", "--out", out)
    assert load(out)["cpu_smoke"] and result["device"] == "cpu"
    gpu_check = sys.modules["gpu_check"]
    assert set(result["training"]) == set(gpu_check.TRAIN_CONFIGS)
    for name, config in result["training"].items():
        assert config["status"] == "ok", name
        assert config["seconds_per_step"] > 0
        assert config["clips_per_second"] > 0
        assert config["peak_memory_mb"] > 0
        assert config["timing"]["optimizer_steps"] == 1
        # On the CPU the profile counts aten operators of one step.
        profile = config["profile"]
        assert profile["aten_ops"] >= profile["aten_ops_top_level"] > 100
        # Values read back to Python outside the optimizer (GPU syncs for
        # GPU tensors): about 20 per step (draws, checks), never one per
        # parameter (the tiny model has over 100 tensors).
        assert 0 < profile["scalar_reads"] <= 30
    assert result["training"]["stage2_float32_checkpointing"][
        "activation_checkpointing"
    ]
    assert result["training"]["stage1_bfloat16"]["stage"] == 1
    inference = result["inference"]
    for name in ("float32", "bfloat16"):
        for key in ("cpu_batch_ms_per_clip", "gpu_batch_ms_per_clip"):
            assert inference[name][key] > 0
        assert inference[name]["batch1_ms"] > 0
        assert inference[name]["hour_seconds"] > 0
    assert inference["bfloat16"]["profile_cpu_batch"]["aten_ops"] > 0
    assert 0 <= inference["bfloat16_vs_float32_max_abs_diff"] < 0.1
    assert result["loader"]["per_worker_clips_per_second"] > 0
    # The figures are printed beside ours.
    text = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "0.345 s, 19.4 GiB" in text and "7,559" in text


def test_bench_training_tiny(training):
    r = training["settings"]["stage1"]
    assert r["stage"] == 1
    assert r["batch_sizes"] == [1, 1, 2, 2]
    assert r["seconds_per_step"] > 0 and r["clips_per_second"] > 0
    # Measured in its own process: peak >= memory after building the brain.
    assert r["peak_rss_mb"] >= r["rss_after_build_mb"] > 0
    assert r["timing"]["optimizer_steps"] == 1
    assert "stage1_speedup_vs_official" in training["targets"]
    # The counted work of a step and the fastest this machine allows.
    assert r["gflop_per_step"] > 0 and r["gemm_gflops"] > 0
    assert r["floor_seconds_per_step"] == pytest.approx(
        r["gflop_per_step"] / r["gemm_gflops"]
    )


def test_bench_inference_tiny_timings(inference):
    per_clip = inference["seconds_per_clip"]
    assert set(per_clip) == {"float32", "bfloat16"}
    for per_batch in per_clip.values():
        assert set(per_batch) == {"1", "2"}
        assert all(v > 0 for v in per_batch.values())
    diff = inference["bfloat16_vs_float32"]
    assert 0 <= diff["max_abs_diff"] <= 1
    assert set(inference["targets"]) == {
        "float32_batch8_s_per_clip",
        "bfloat16_batch8_s_per_clip",
        "bfloat16_max_abs_diff",
        "long_audio_compute_ratio",
    }


def test_bench_inference_tiny_long_audio(inference):
    long = inference["long_audio"]
    default, official = long["default"], long["official"]
    # Windows every 0.8 vs 0.3 window lengths.
    assert default["hop_seconds"] > official["hop_seconds"]
    assert (
        default["windows_per_audio_hour"] < official["windows_per_audio_hour"]
    )
    assert long["compute_ratio_windows"] == pytest.approx(
        default["windows_per_audio_hour"] / official["windows_per_audio_hour"]
    )
    assert default["measured_seconds_per_audio_hour"] > 0
    accuracy = inference["accuracy"]
    for key in ("default", "official", "full_pass"):
        assert 0 <= accuracy[key]["psds1"] <= 1
        assert 0 <= accuracy[key]["collar_f1_macro"] <= 1
    assert accuracy["default"]["max_abs_diff_to_full_pass"] >= 0
    trained = accuracy["trained_model"]
    # The model folder's own hop, then 0.3 of its 10 s window.
    assert trained["hop_seconds"] == {"default": 8.0, "official": 3.008}
    assert trained["n_events"] >= 10  # every class at least once
    for key in ("default", "official"):
        assert 0 <= trained[key]["psds1"] <= 1
        assert 0 <= trained[key]["intersection_f1_macro"] <= 1


def test_bench_inference_compute_bound(inference):
    bound = inference["compute_bound"]
    assert bound["gflop_per_clip"] > 0 and bound["gemm_gflops"] > 0
    assert bound["floor_seconds_per_clip"] == pytest.approx(
        bound["gflop_per_clip"] / bound["gemm_gflops"]
    )
    assert bound["gemm_shape"] == [1000, 32, 128]  # the tiny width


def test_run_all_summary(inference, training, results_dir):
    bench_main(
        "bench_data",
        "--scale",
        "0.1",
        "--quiet-load",
        "0",
        "--out",
        results_dir / "data.json",
    )
    # The evaluation benchmark through run_all's own subprocess path.
    bench_main(
        "run_all", "--tiny", "--only", "evaluation", "--out-dir", results_dir
    )
    evaluation = load(results_dir / "evaluation.json")
    assert evaluation["wall_seconds"]["evaluate_scores_1_job"] > 0
    bench_main("run_all", "--summarize", "--out-dir", results_dir)
    summary = (results_dir / "summary.md").read_text(encoding="utf-8")
    assert "torch" in summary and "cores" in summary
    assert "inference float32, batch 2 (s / 2 s clip)" in summary
    assert "training stage1" in summary
    assert "synthesize + prepare" in summary
    assert "evaluation of 60 clips, evaluate_scores_1_job" in summary
    result = load(results_dir / "summary.json")
    assert set(result["results"]) == {
        "inference",
        "training",
        "evaluation",
        "data",
    }
