"""Tests of the label grid: frame grid, strong/weak encoding and decoding.

Authors
 * speechbrain-atst team 2026
"""

import numpy as np
import pytest
import torch

from speechbrain_atst.labels import (
    DESED_CLASSES,
    FrameGrid,
    ManyHotEncoder,
    contiguous_regions,
    load_classes,
    per_class_values,
)


@pytest.fixture
def enc():
    return ManyHotEncoder()


def test_grid_constants():
    grid = FrameGrid()
    assert grid.n_frames == 156
    assert grid.frame_seconds == pytest.approx(0.064)
    assert grid.frames_per_second == pytest.approx(15.625)
    assert grid.clip_samples == 160000
    assert grid.model_frames(160000) == 156
    # A 3 s clip: 1 + 48000 // 256 = 188 mel frames, pooled twice -> 47.
    assert grid.model_frames(48000) == 47


def test_grid_valid_frames_short_clips():
    grid = FrameGrid()
    assert grid.valid_frames(0.0) == 0
    assert grid.valid_frames(3.0) == 47  # ceil(46.875)
    assert grid.valid_frames(0.064 * 10) == 10  # exact boundary
    assert grid.valid_frames(9.984) == 156
    assert grid.valid_frames(10.0) == 156  # clipped to the grid
    assert grid.valid_frames(25.0) == 156


def test_grid_time_frame_conversion():
    grid = FrameGrid()
    assert grid.time_to_frame(-1.0) == 0.0
    assert grid.time_to_frame(20.0) == 156.0
    np.testing.assert_allclose(
        grid.time_to_frame(np.array([0.0, 0.064, 1.0])), [0.0, 1.0, 15.625]
    )
    assert grid.frame_to_time(1) == 0.064
    assert grid.frame_to_time(156) == 9.984
    assert grid.frame_to_time(200) == 10.0  # clipped to clip_seconds
    assert grid.frame_to_time(100, max_time=3.0) == 3.0
    ts = grid.timestamps(156)
    assert len(ts) == 157 and ts[0] == 0.0 and ts[-1] == 9.984


def test_event_frames_floor_onset_ceil_offset(enc):
    assert enc.event_frames(0.1, 0.5) == (1, 8)  # floor 1.5625, ceil 7.8125
    # Exact frame boundaries are not pushed over by float noise.
    assert enc.event_frames(0.064, 0.128) == (1, 2)
    assert enc.event_frames(0.064 * 3, 0.064 * 7) == (3, 7)
    # Clipping to the grid.
    assert enc.event_frames(-1.0, 20.0) == (0, 156)
    assert enc.event_frames(9.99, 10.0) == (156, 156)
    assert enc.event_frames(1.0, 2.0, n_frames=20) == (15, 20)


def test_encode_strong(enc):
    y = enc.encode_strong(
        [
            (0.0, 0.2, "Dog"),
            (0.1, 0.3, "Dog"),  # overlapping same-class events merge
            (5.0, 12.0, "Speech"),  # runs past the clip end
            (2.0, 2.0, "Cat"),  # empty event: no frame
            (3.0, 1.0, "Cat"),  # reversed event: no frame
        ]
    )
    assert y.shape == (156, 10) and y.dtype == torch.float32
    dog = y[:, enc.index("Dog")].nonzero().flatten().tolist()
    assert dog == list(range(0, 5))  # [floor(0), ceil(4.6875)) = [0, 5)
    speech = y[:, enc.index("Speech")].nonzero().flatten().tolist()
    assert speech == list(range(78, 156))  # floor(78.125) = 78
    assert y[:, enc.index("Cat")].sum() == 0
    assert set(y.unique().tolist()) == {0.0, 1.0}


def test_encode_strong_short_grid(enc):
    y = enc.encode_strong([(1.0, 9.0, "Frying")], n_frames=47)
    assert y.shape == (47, 10)
    assert y[:, enc.index("Frying")].nonzero().flatten().tolist() == list(
        range(15, 47)
    )


def test_unknown_labels_raise(enc):
    with pytest.raises(KeyError, match="Unknown event label 'Bird'"):
        enc.encode_strong([(0.0, 1.0, "Bird")])
    with pytest.raises(KeyError, match="Bird"):
        enc.encode_weak("Dog,Bird")
    with pytest.raises(KeyError):
        enc.index("dog")  # case matters


def test_encode_weak(enc):
    y = enc.encode_weak(" Dog , Speech,,Dog")
    assert y.tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert enc.encode_weak([]).sum() == 0
    assert torch.equal(enc.encode_weak(["Cat"]), enc.encode_weak("Cat"))


def test_decode_strict_threshold(enc):
    scores = np.zeros((156, 10))
    scores[10:20, 0] = 0.5  # equal to the threshold: not an event
    scores[30:40, 1] = 0.5 + 1e-6  # just above: an event
    events = enc.decode_strong(scores, threshold=0.5)
    assert events == [("Blender", 1.92, 2.56)]


def test_decode_per_class_thresholds_and_max_time(enc):
    scores = np.zeros((156, 10))
    scores[:, 0] = 0.3
    scores[150:, 9] = 0.9
    thr = [0.2] + [0.5] * 9
    events = enc.decode_strong(torch.tensor(scores), threshold=thr)
    assert events == [
        ("Alarm_bell_ringing", 0.0, 9.984),
        ("Vacuum_cleaner", 9.6, 9.984),
    ]
    # A 9.7 s clip: offsets are clipped to its end.
    events = enc.decode_strong(scores, threshold=thr, max_time=9.7)
    assert events[1] == ("Vacuum_cleaner", 9.6, 9.7)
    with pytest.raises(ValueError, match="Expected 10 thresholds"):
        enc.decode_strong(scores, threshold=[0.5, 0.5])
    with pytest.raises(ValueError, match="shape"):
        enc.decode_strong(np.zeros((156, 3)))


def test_encode_decode_round_trip_on_grid(enc):
    fs = 0.064
    events = [
        ("Cat", round(3 * fs, 6), round(10 * fs, 6)),
        ("Dog", 0.0, round(2 * fs, 6)),
        ("Dog", round(50 * fs, 6), round(60 * fs, 6)),
        ("Speech", round(100 * fs, 6), round(156 * fs, 6)),
    ]
    y = enc.encode_strong([(on, off, lab) for lab, on, off in events])
    assert enc.decode_strong(y) == sorted(
        events, key=lambda e: (enc.index(e[0]), e[1])
    )


def test_round_trip_off_grid_is_quantised_outwards(enc):
    rng = np.random.default_rng(0)
    for _ in range(50):
        on = float(rng.uniform(0, 9))
        off = float(min(on + rng.uniform(0.05, 3), 10.0))
        y = enc.encode_strong([(on, off, "Speech")])
        ((label, d_on, d_off),) = enc.decode_strong(y)
        assert label == "Speech"
        # Onset floors, offset ceils (to the last grid boundary, 9.984).
        assert d_on <= on + 1e-9 and on - d_on < 0.064
        assert d_off >= min(off, 9.984) - 1e-9 and d_off - off < 0.064


def test_contiguous_regions_edges():
    assert contiguous_regions(np.array([], dtype=bool)) == []
    assert contiguous_regions(np.ones(4, dtype=bool)) == [(0, 4)]
    assert contiguous_regions(np.zeros(4, dtype=bool)) == []
    assert contiguous_regions(np.array([1, 0, 0, 1])) == [(0, 1), (3, 4)]


def test_load_classes_variants(tmp_path):
    assert load_classes() == list(DESED_CLASSES)
    assert load_classes(["Dog", "Cat"]) == ["Dog", "Cat"]
    assert load_classes(" Dog, Cat ,") == ["Dog", "Cat"]
    path = tmp_path / "classes.txt"
    path.write_text("\ufeffDog\n\n# a comment\nCat  # trailing\n", "utf-8")
    assert load_classes(path) == ["Dog", "Cat"]
    assert load_classes(str(path)) == ["Dog", "Cat"]
    with pytest.raises(ValueError, match="Duplicate"):
        load_classes("Dog,Dog")
    with pytest.raises(ValueError, match="Empty"):
        load_classes(",")


def test_custom_classes_encoder():
    enc = ManyHotEncoder("Dog,Cat")
    assert len(enc) == enc.n_classes == 2
    assert enc.encode_weak("Cat").tolist() == [0.0, 1.0]
    assert enc.encode_strong([(0, 1, "Dog")]).shape == (156, 2)


def test_per_class_values():
    classes = ["A", "B", "C"]
    assert per_class_values(7, classes) == [7, 7, 7]
    assert per_class_values([1, 2, 3], classes) == [1, 2, 3]
    assert per_class_values({"B": 5}, classes, default=0) == [0, 5, 0]
    with pytest.raises(KeyError):
        per_class_values({"Z": 1}, classes, default=0)
    with pytest.raises(ValueError):
        per_class_values({"A": 1}, classes)
    with pytest.raises(ValueError):
        per_class_values([1, 2], classes)
