"""Reproduces the metrics of a real ATST-SED system on DESED validation.

The fixture holds the real DESED validation ground truth (1,168 clips) and
one score file per clip from a trained ATST-SED student; its reference
metrics were computed independently with sed_scores_eval and psds_eval.
These scores are final (no median filtering). The ``desed_validation_real``
fixture (tests/conftest.py) extracts them from
tests/fixtures/desed_validation_real.tar.xz.

Authors
 * speechbrain-atst team 2026
"""

import json

import pytest

from speechbrain_atst.evaluation import evaluate_scores, read_scores

#: Our key -> key in reference_metrics_student.json.
REFERENCE_KEYS = {
    "psds1": "sed_scores_eval_psds1",
    "psds2": "sed_scores_eval_psds2",
    "intersection_f1_macro": "intersection_f1_macro",
    "collar_f1_macro": "collar_f1_macro",
    "collar_f1_micro": "collar_f1_micro",
    "collar_f1_macro_all_files": "collar_f1_macro_all_files",
    "collar_f1_micro_all_files": "collar_f1_micro_all_files",
}


@pytest.fixture(scope="module")
def reference(desed_validation_real):
    path = desed_validation_real / "reference_metrics_student.json"
    with open(path) as fin:
        return json.load(fin)


@pytest.fixture(scope="module")
def metrics(desed_validation_real):
    fixture = desed_validation_real
    scores = read_scores(fixture / "scores_student")
    assert len(scores) == 1168
    return evaluate_scores(
        scores,
        fixture / "validation.tsv",
        fixture / "validation_durations.tsv",
        num_jobs=2,
    )


@pytest.mark.parametrize("key", sorted(REFERENCE_KEYS))
def test_reproduces_reference(metrics, reference, key):
    assert metrics[key] == pytest.approx(
        reference[REFERENCE_KEYS[key]], abs=1e-6
    )


def test_published_rounded_values(metrics):
    """The figures quoted in the fixture README, to 1e-4."""
    expected = {
        "psds1": 0.33513,
        "psds2": 0.52991,
        "intersection_f1_macro": 0.64075,
        "collar_f1_macro": 0.40108,
        "collar_f1_micro": 0.41124,
        "collar_f1_macro_all_files": 0.39895,
        "collar_f1_micro_all_files": 0.40977,
    }
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-4), key


def test_protocol_counts(metrics):
    # 15 of the 1,168 clips have no event: dropped, as in DCASE.
    assert metrics["n_files"] == 1153
    assert metrics["n_files_all"] == 1168
    assert metrics["n_events"] == 4224
    assert len(metrics["psds1_per_class"]) == 10
    assert len(metrics["collar_f1_per_class"]) == 10
    per_class = metrics["intersection_f1_per_class"].values()
    assert sum(per_class) / 10 == pytest.approx(
        metrics["intersection_f1_macro"]
    )
