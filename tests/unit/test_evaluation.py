"""Tests of speechbrain_atst.evaluation on scores whose metrics are known.

Authors
 * speechbrain-atst team 2026
"""

import contextlib
import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.ndimage import median_filter as scipy_median_filter

from speechbrain_atst.cli import main as cli_main
from speechbrain_atst.evaluation import (
    COLLAR_F1,
    INTERSECTION_F1,
    PSDS1_SCENARIO,
    PSDS2_SCENARIO,
    PSDS_SCENARIOS,
    STAGE1_MEDIAN_WINDOWS,
    STAGE2_MEDIAN_WINDOWS,
    evaluate_scores,
    format_metrics,
    median_filter,
    read_durations,
    read_ground_truth,
    read_scores,
    scores_to_dataframe,
    scores_to_events,
    write_scores,
)
from speechbrain_atst.evaluation.compat import sed_scores_eval
from speechbrain_atst.labels import FrameGrid, ManyHotEncoder

# sed_scores_eval itself, imported as the package does (without sed_eval's
# pkg_resources dependency).
_SSE = sed_scores_eval()
collar_based, intersection_based = _SSE.collar_based, _SSE.intersection_based
sse_io = _SSE.base_modules.io
sse_statistics = _SSE.base_modules.statistics

CLASSES = ["Cat", "Dog", "Speech"]
FRAME = 0.064


def make_dataset(n_clips=18, seed=0):
    """Ground truth on the frame grid (every clip has 1-2 events of 20-40
    frames, never of the same class twice), durations and an encoder."""
    rng = np.random.default_rng(seed)
    gt, durations = {}, {}
    for i in range(n_clips):
        events = []
        start = int(rng.integers(0, 20))
        for c in rng.permutation(len(CLASSES))[: 1 + i % 2]:
            length = int(rng.integers(20, 40))
            onset, offset = start * FRAME, (start + length) * FRAME
            events.append((round(onset, 6), round(offset, 6), CLASSES[c]))
            start += length + int(rng.integers(10, 30))
        gt[f"clip{i:02d}"] = events
        durations[f"clip{i:02d}"] = 10.0
    return gt, durations, ManyHotEncoder(CLASSES)


def frames_of(gt, encoder, shift_frames=0, level=1.0):
    """Perfect frame scores of ``gt`` (optionally shifted in time)."""
    out = {}
    for audio_id, events in gt.items():
        y = encoder.encode_strong(events).numpy() * level
        out[audio_id] = np.roll(y, shift_frames, axis=0)
    return out


def as_frames(arrays):
    """Score DataFrames of (frames, classes) arrays."""
    return {k: scores_to_dataframe(v, CLASSES) for k, v in arrays.items()}


def evaluate(arrays, gt, durations, **kwargs):
    """evaluate_scores of score arrays."""
    return evaluate_scores(as_frames(arrays), gt, durations, **kwargs)


def test_constants():
    assert STAGE2_MEDIAN_WINDOWS == [6, 20, 7, 4, 7, 6, 6, 6, 6, 6]
    assert STAGE1_MEDIAN_WINDOWS == [7] * 10
    assert PSDS_SCENARIOS["psds1"] is PSDS1_SCENARIO
    assert dict(PSDS1_SCENARIO) == {
        "dtc_threshold": 0.7,
        "gtc_threshold": 0.7,
        "cttc_threshold": None,
        "alpha_ct": 0.0,
        "alpha_st": 1.0,
        "max_efpr": 100.0,
        "unit_of_time": "hour",
    }
    assert PSDS2_SCENARIO["cttc_threshold"] == 0.3
    assert PSDS2_SCENARIO["alpha_ct"] == 0.5
    assert PSDS2_SCENARIO["dtc_threshold"] == 0.1
    assert INTERSECTION_F1["dtc_threshold"] == 0.5
    assert COLLAR_F1["offset_collar_rate"] == 0.2
    with pytest.raises(TypeError):
        PSDS1_SCENARIO["alpha_st"] = 0.0


def test_perfect_scores_give_one():
    gt, durations, enc = make_dataset()
    m = evaluate(frames_of(gt, enc), gt, durations)
    for key in (
        "psds1",
        "psds2",
        "intersection_f1_macro",
        "collar_f1_macro",
        "collar_f1_micro",
        "collar_f1_macro_all_files",
    ):
        assert m[key] == pytest.approx(1.0, abs=1e-12), key
    assert set(m["psds1_per_class"]) == set(CLASSES)
    assert all(v == pytest.approx(1.0) for v in m["psds2_per_class"].values())
    assert m["n_files"] == len(gt)
    assert m["n_events"] == sum(len(v) for v in gt.values())
    assert m["median_windows"] is None


def test_zero_scores_give_zero():
    gt, durations, enc = make_dataset()
    zeros = {k: np.zeros((156, len(CLASSES))) for k in gt}
    m = evaluate(zeros, gt, durations)
    for key in ("psds1", "psds2", "intersection_f1_macro", "collar_f1_macro"):
        assert m[key] == 0.0, key


def test_half_length_shift_hurts_psds1_more_than_psds2():
    gt, durations, enc = make_dataset()
    # Every event is 20-40 frames long; a 12-frame shift moves detections
    # by 30-60 % of their length: too far for dtc/gtc 0.7 (PSDS1) most of
    # the time, close enough for dtc/gtc 0.1 (PSDS2).
    perfect = evaluate(frames_of(gt, enc), gt, durations)
    shifted = evaluate(frames_of(gt, enc, shift_frames=12), gt, durations)
    drop1 = perfect["psds1"] - shifted["psds1"]
    drop2 = perfect["psds2"] - shifted["psds2"]
    assert shifted["psds2"] == pytest.approx(1.0)
    assert shifted["psds1"] < 0.5
    assert drop1 > drop2 + 0.5
    assert shifted["collar_f1_macro"] < 0.1  # onsets 0.77 s off


def test_cross_triggers_lower_psds2_only():
    gt, durations, enc = make_dataset()
    base = frames_of(gt, enc, level=0.5)
    cross, elsewhere = {}, {}
    dog, speech = CLASSES.index("Dog"), CLASSES.index("Speech")
    n_alarms = 0
    for audio_id, y in base.items():
        a, b = y.copy(), y.copy()
        on_speech = y[:, speech] > 0
        if on_speech.any() and n_alarms < 2:
            n_alarms += 1
            # "Dog" fires (0.9, above its true events) on a Speech event ...
            a[on_speech, dog] = 0.9
            # ... or in the silence at the end of the clip: the same false
            # alarms, without cross-trigger.
            last = int(np.flatnonzero(y.max(axis=1) > 0)[-1])
            length = min(int(on_speech.sum()), 155 - last - 2)
            b[156 - length :, dog] = 0.9
        cross[audio_id], elsewhere[audio_id] = a, b
    assert n_alarms == 2
    m_cross = evaluate(cross, gt, durations)
    m_else = evaluate(elsewhere, gt, durations)
    clean = evaluate(base, gt, durations)
    assert clean["psds2"] == pytest.approx(1.0)
    assert m_else["psds2"] < clean["psds2"]  # false alarms cost anyway
    assert m_cross["psds2"] < m_else["psds2"] - 0.02
    assert m_cross["psds2_per_class"]["Dog"] < m_else["psds2_per_class"]["Dog"]
    # PSDS1 ignores cross-triggers: same false alarms, same PSDS1.
    assert m_cross["psds1"] == pytest.approx(m_else["psds1"], abs=1e-12)


def test_metrics_equal_direct_sed_scores_eval():
    """Binarized F1, shared collar deltas and processes change nothing."""
    gt, durations, enc = make_dataset(n_clips=12, seed=3)
    rng = np.random.default_rng(0)
    arrays = {
        k: np.clip(v * 0.7 + rng.random(v.shape) * 0.5, 0, 1)
        for k, v in frames_of(gt, enc).items()
    }
    arrays["silent"] = rng.random((156, len(CLASSES))) * 0.6
    gt["silent"], durations["silent"] = [], 10.0
    frames = as_frames(arrays)
    ours = evaluate_scores(frames, gt, durations)
    twice = evaluate_scores(frames, gt, durations, num_jobs=4)
    ev = [k for k in gt if gt[k]]
    sc_ev = {k: frames[k] for k in ev}
    gt_ev = {k: gt[k] for k in ev}
    dur_ev = {k: durations[k] for k in ev}
    for name, scenario in PSDS_SCENARIOS.items():
        ref = intersection_based.psds(sc_ev, gt_ev, dur_ev, **scenario)
        assert ours[name] == pytest.approx(ref[0], abs=1e-12)
        assert twice[name] == pytest.approx(ref[0], abs=1e-12)
    f = intersection_based.fscore(sc_ev, gt_ev, **INTERSECTION_F1)[0]
    assert ours["intersection_f1_macro"] == pytest.approx(f["macro_average"])
    assert (
        twice["intersection_f1_per_class"] == ours["intersection_f1_per_class"]
    )
    f = collar_based.fscore(sc_ev, gt_ev, **COLLAR_F1)[0]
    assert ours["collar_f1_micro"] == pytest.approx(f["micro_average"])
    f = collar_based.fscore(frames, gt, **COLLAR_F1)[0]
    assert ours["collar_f1_macro_all_files"] == pytest.approx(
        f["macro_average"]
    )
    assert twice["collar_f1_micro_all_files"] == pytest.approx(
        f["micro_average"]
    )


def test_event_free_clips_only_count_in_all_files_f1():
    gt, durations, enc = make_dataset()
    arrays = frames_of(gt, enc)
    # A clip without events with a false alarm.
    alarm = np.zeros((156, len(CLASSES)))
    alarm[40:80, 0] = 1.0
    arrays["empty"], gt["empty"], durations["empty"] = alarm, [], 10.0
    m = evaluate(arrays, gt, durations)
    assert m["n_files"] == len(gt) - 1
    assert m["n_files_all"] == len(gt)
    assert m["psds1"] == pytest.approx(1.0)
    assert m["collar_f1_micro"] == pytest.approx(1.0)
    assert m["collar_f1_micro_all_files"] < 1.0
    # Clips listed in the durations only are clips without events, and an
    # event-free clip may also be left unscored.
    del gt["empty"]
    m2 = evaluate(arrays, gt, durations)
    assert m2["collar_f1_micro_all_files"] == m["collar_f1_micro_all_files"]
    del arrays["empty"]
    assert evaluate(arrays, gt, durations)["n_files_all"] == len(gt)


def test_median_filter_in_evaluation_removes_spikes():
    gt, durations, enc = make_dataset()
    rng = np.random.default_rng(1)
    spiky = {}
    for k, y in frames_of(gt, enc).items():
        y = y.copy()
        idx = rng.choice(156, size=6, replace=False)
        y[idx, rng.integers(0, len(CLASSES), 6)] = 1.0
        spiky[k] = y
    raw = evaluate(spiky, gt, durations)
    filtered = evaluate(spiky, gt, durations, median_windows=5)
    assert raw["collar_f1_macro"] < 0.9
    assert filtered["collar_f1_macro"] > raw["collar_f1_macro"]
    assert filtered["psds1"] > raw["psds1"]
    assert filtered["median_windows"] == [5, 5, 5]
    per_class = evaluate(
        spiky, gt, durations, median_windows={"Cat": 5, "Dog": 5, "Speech": 5}
    )
    assert per_class["psds1"] == filtered["psds1"]


def test_median_filter_spikes_events_and_scipy_parity():
    x = np.zeros((60, 3), dtype=np.float32)
    x[10, :] = 1.0  # one-frame spike in every class
    x[20:50, :] = 0.8  # a 30-frame event
    y = median_filter(x, [1, 7, 20])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y[:, 0], x[:, 0])  # window 1: identity
    assert y[:, 1:][10].max() == 0.0
    assert (y[25:45, 1:] == np.float32(0.8)).all()
    assert median_filter(x, 7)[10].max() == 0.0
    rng = np.random.default_rng(0)
    r = rng.random((156, 10))
    out = median_filter(torch.from_numpy(r), STAGE2_MEDIAN_WINDOWS)
    for c, w in enumerate(STAGE2_MEDIAN_WINDOWS):
        ref = scipy_median_filter(r[:, c], size=w, mode="reflect")
        np.testing.assert_array_equal(out[:, c], ref)
    with pytest.raises(ValueError, match="one per class"):
        median_filter(r, [3, 3])
    with pytest.raises(ValueError, match=">= 1"):
        median_filter(r, 0)
    with pytest.raises(ValueError, match="shape"):
        median_filter(r[:, 0], 3)


def test_scores_to_dataframe_timestamps_and_duration():
    df = scores_to_dataframe(np.zeros((156, 3)), CLASSES)
    assert list(df.columns) == ["onset", "offset", *CLASSES]
    np.testing.assert_allclose(df["onset"], np.arange(156) * 0.064)
    np.testing.assert_array_equal(df["onset"], FrameGrid().timestamps(155))
    assert df["offset"].iloc[-1] == 9.984
    assert df["onset"].iloc[125] == 8.0
    short = scores_to_dataframe(np.zeros((156, 3)), CLASSES, duration=3.0)
    assert len(short) == 47  # frames starting before 3 s
    assert short["offset"].iloc[-1] == 3.0  # clipped to the duration
    exact = scores_to_dataframe(np.zeros((156, 3)), CLASSES, duration=2.944)
    assert len(exact) == 46 and exact["offset"].iloc[-1] == 2.944
    full = scores_to_dataframe(np.zeros((156, 3)), CLASSES, duration=10.0)
    assert len(full) == 156 and full["offset"].iloc[-1] == 9.984
    # Longer than one window (long files): no cap at 156 frames.
    long = scores_to_dataframe(np.zeros((300, 3)), CLASSES, duration=15.0)
    assert len(long) == 235 and long["offset"].iloc[-1] == 15.0
    t = scores_to_dataframe(torch.ones(4, 10, dtype=torch.bfloat16))
    assert list(t.columns[2:])[0] == "Alarm_bell_ringing"
    with pytest.raises(ValueError, match="shape"):
        scores_to_dataframe(np.zeros((156, 2)), CLASSES)
    with pytest.raises(ValueError, match="positive"):
        scores_to_dataframe(np.zeros((156, 3)), CLASSES, duration=0)


def test_scores_to_events_strict_threshold():
    x = np.zeros((20, 3))
    x[2:5, 0] = 0.5  # exactly at the threshold: not detected
    x[6:9, 0] = 0.51
    x[1:3, 2] = 0.3
    events = scores_to_events(x, 0.5, classes=CLASSES)
    assert events == [(0.384, 0.576, "Cat")]
    both = scores_to_events(x, {"Cat": 0.4, "Dog": 0.5, "Speech": 0.2}, CLASSES)
    assert both == [
        (0.064, 0.192, "Speech"),
        (0.128, 0.32, "Cat"),
        (0.384, 0.576, "Cat"),
    ]
    df = scores_to_dataframe(x, CLASSES, duration=0.5)
    assert scores_to_events({"a": df}, 0.5) == {"a": [(0.384, 0.5, "Cat")]}
    # Same events as the label encoder's decoder.
    enc = ManyHotEncoder(CLASSES)
    decoded = [(on, off, lab) for lab, on, off in enc.decode_strong(x)]
    assert sorted(decoded) == events


def test_write_read_scores_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.random((156, 3)) ** 7  # tiny values, many digits
    values[0, 0] = 1e-12
    scores = {
        "Y1_0.000_10.000": scores_to_dataframe(values, CLASSES),
        "short": scores_to_dataframe(values, CLASSES, duration=4.2),
    }
    folder = write_scores(scores, tmp_path / "scores")
    (folder / "README.md").write_text("not a score file")
    back = read_scores(folder)
    assert sorted(back) == sorted(scores)
    for k, df in scores.items():
        pd.testing.assert_frame_equal(back[k], df, check_exact=True)
    assert back["short"]["offset"].iloc[-1] == 4.2
    # Byte for byte the files of sed_scores_eval's writer.
    sse_io.write_sed_scores(scores, tmp_path / "reference")
    for k in scores:
        ours = (folder / f"{k}.tsv").read_bytes()
        assert ours == (tmp_path / "reference" / f"{k}.tsv").read_bytes()


def test_read_scores_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_scores(tmp_path / "missing")
    with pytest.raises(ValueError, match="No score file"):
        read_scores(tmp_path)
    bad = tmp_path / "bad.tsv"
    bad.write_text("onset\toffset\tCat\n0.0\t0.064\t0.1\n0.064\t0.128\n")
    with pytest.raises(ValueError, match=r"bad\.tsv: line 3"):
        read_scores(tmp_path)
    bad.write_text("onset\toffset\tCat\n0.0\t0.064\tnan\n")
    with pytest.raises(ValueError, match=r"bad\.tsv: line 2 has a NaN"):
        read_scores(tmp_path)
    bad.write_text("start\tend\tCat\n0.0\t0.064\t0.1\n")
    with pytest.raises(ValueError, match=r"bad\.tsv: line 1"):
        read_scores(tmp_path)
    with pytest.raises(TypeError, match="scores_to_dataframe"):
        write_scores({"a": np.zeros((3, 3))}, tmp_path)


def test_ground_truth_and_durations_files(tmp_path):
    gt_file = tmp_path / "gt.tsv"
    gt_file.write_text(
        "filename\tonset\toffset\tevent_label\n"
        "a.wav\t0.5\t1.0\tDog\n"
        "a.wav\t2.0\t3.0\tCat\n"
        "b.wav\t\t\t\n"
    )
    assert read_ground_truth(gt_file) == {
        "a": [(0.5, 1.0, "Dog"), (2.0, 3.0, "Cat")],
        "b": [],
    }
    gt_file.write_text(
        "filename\tonset\toffset\tevent_label\na.wav\t1.0\t0.5\tDog\n"
    )
    with pytest.raises(
        ValueError, match=r"gt\.tsv, line 2: onset 1.0 >= offset"
    ):
        read_ground_truth(gt_file)
    gt_file.write_text(
        "filename\tonset\toffset\tevent_label\n"
        "a.wav\t0.0\t2.0\tDog\na.wav\t1.5\t3.0\tDog\n"
    )
    # Overlapping events of one class are merged (sed_scores_eval refuses
    # them), with a warning.
    assert read_ground_truth(gt_file) == {"a": [(0.0, 3.0, "Dog")]}
    gt_file.write_text("filename\tevent_labels\na.wav\tDog\n")
    with pytest.raises(ValueError, match=r"gt\.tsv, line 1: missing column"):
        read_ground_truth(gt_file)
    dur = tmp_path / "dur.tsv"
    dur.write_text("filename\tduration\na.wav\t10.0\nb.wav\t-1\n")
    with pytest.raises(ValueError, match=r"dur\.tsv, line 3"):
        read_durations(dur)
    with pytest.raises(FileNotFoundError):
        read_durations(tmp_path / "nope.tsv")


def test_evaluate_input_errors():
    gt, durations, enc = make_dataset(n_clips=6)
    frames = as_frames(frames_of(gt, enc))
    bad_gt = {k: list(v) for k, v in gt.items()}
    bad_gt["clip00"].append((8.0, 9.0, "Blender"))
    with pytest.raises(
        ValueError, match=r"clip clip00: unknown event label 'Blender'"
    ):
        evaluate_scores(frames, bad_gt, durations)
    missing = dict(frames)
    del missing["clip01"]
    with pytest.raises(ValueError, match="have no scores"):
        evaluate_scores(missing, gt, durations)
    stray = dict(frames, other=frames["clip00"])
    with pytest.raises(ValueError, match="neither in the ground truth"):
        evaluate_scores(stray, gt, durations)
    with pytest.raises(ValueError, match="no duration"):
        evaluate_scores(frames, gt, {"clip00": 10.0})
    only_dog = {k: [e for e in v if e[2] == "Dog"] for k, v in gt.items()}
    with pytest.raises(ValueError, match="No ground-truth event of classes"):
        evaluate_scores(frames, only_dog, durations)
    with pytest.raises(ValueError, match="no score column"):
        evaluate_scores(frames, gt, durations, classes=["Dog", "Blender"])
    nan = dict(frames, clip00=frames["clip00"].assign(Cat=np.nan))
    with pytest.raises(ValueError, match="NaN"):
        evaluate_scores(nan, gt, durations)


def test_class_subset_and_single_class():
    gt, durations, enc = make_dataset()
    frames = as_frames(frames_of(gt, enc))
    only_dog = {k: [e for e in v if e[2] == "Dog"] for k, v in gt.items()}
    m = evaluate_scores(frames, gt, durations, classes="Dog")
    assert m["classes"] == ["Dog"]
    assert list(m["psds2_per_class"]) == ["Dog"]
    assert m["psds2"] == pytest.approx(1.0)  # no other class: no CT term
    assert m["n_files"] == sum(1 for v in only_dog.values() if v)


def _copy_on_write():
    """Context with pandas copy-on-write: always on from pandas 3, where
    the option is deprecated; an option of pandas 2."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return contextlib.nullcontext()
    return pd.option_context("mode.copy_on_write", True)


def test_read_only_score_arrays(monkeypatch):
    """sed_scores_eval 0.0.4 fails on read-only arrays (pandas 3 default
    copy-on-write); evaluate_scores copies them."""
    gt, durations, enc = make_dataset(n_clips=6)
    frames = as_frames(frames_of(gt, enc, level=0.8))
    expected = evaluate_scores(frames, gt, durations)
    guarded = sse_statistics.onset_offset_curves
    monkeypatch.setattr(
        sse_statistics, "onset_offset_curves", guarded.__wrapped__
    )
    with _copy_on_write():
        with pytest.raises(ValueError, match="read-only"):
            intersection_based.psds(
                frames, gt, durations, **PSDS_SCENARIOS["psds1"]
            )
        got = evaluate_scores(frames, gt, durations)
    assert got["psds1"] == expected["psds1"]
    assert got["collar_f1_macro"] == expected["collar_f1_macro"]


def test_psd_roc_png_and_table(tmp_path):
    gt, durations, enc = make_dataset(n_clips=6)
    png = tmp_path / "roc" / "psd_roc.png"
    m = evaluate(frames_of(gt, enc, level=0.7), gt, durations, psds_roc_png=png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = format_metrics(m)
    assert "PSDS1" in table and "Speech" in table
    json.dumps(m)  # plain types only


def test_cli_evaluate_writes_json(tmp_path, capsys):
    gt, durations, enc = make_dataset(n_clips=8)
    write_scores(as_frames(frames_of(gt, enc)), tmp_path / "scores")
    rows = ["filename\tonset\toffset\tevent_label"]
    rows += [
        f"{k}.wav\t{on}\t{off}\t{lab}"
        for k, v in gt.items()
        for on, off, lab in v
    ]
    (tmp_path / "gt.tsv").write_text("\n".join(rows) + "\n")
    rows = ["filename\tduration"] + [f"{k}.wav\t10.0" for k in durations]
    (tmp_path / "dur.tsv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "metrics.json"
    args = [
        "evaluate",
        "--scores",
        str(tmp_path / "scores"),
        "--ground_truth",
        str(tmp_path / "gt.tsv"),
        "--durations",
        str(tmp_path / "dur.tsv"),
        "--median_filter",
        "3,3,3",
        "--out",
        str(out),
    ]
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    assert "PSDS1" in printed and "Collar F1 micro" in printed
    metrics = json.loads(out.read_text())
    for key in (
        "psds1",
        "psds2",
        "intersection_f1_macro",
        "collar_f1_macro",
        "collar_f1_micro",
        "collar_f1_macro_all_files",
        "psds1_per_class",
        "collar_f1_per_class",
    ):
        assert key in metrics, key
    assert metrics["psds1"] == pytest.approx(1.0)
    assert metrics["median_windows"] == [3, 3, 3]
    args[-1] = str(tmp_path / "m2.json")
    args[args.index("3,3,3")] = "1,2"
    assert cli_main(args) == 1
    assert "Expected 3 values" in capsys.readouterr().err
