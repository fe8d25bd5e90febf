"""Tests of the one import of sed_scores_eval (speechbrain_atst.evaluation.
compat): no dcase_util, no pkg_resources, no warning, the real sed_eval
afterwards, read-only score arrays accepted, a quiet command line.

The import tests run in fresh interpreters: the test session itself may
have imported sed_eval already.

Authors
 * speechbrain-atst team 2026
"""

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from speechbrain_atst.evaluation import (
    compat,
    evaluate_scores,
    scores_to_dataframe,
    write_scores,
)
from speechbrain_atst.evaluation.compat import sed_scores_eval

REPO_ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["Cat", "Dog"]
#: Two events on the 64-ms grid and scores that find both exactly.
GROUND_TRUTH = {"a": [(1.92, 2.944, "Cat"), (3.84, 5.12, "Dog")]}
DURATIONS = {"a": 10.0}

#: Small PSDS and collar F1 in a fresh interpreter, then what it imported;
#: then ``import sed_eval`` (its own pkg_resources warning silenced).
EVALUATE = textwrap.dedent(
    """
    import json
    import sys
    import warnings

    import numpy as np

    from speechbrain_atst.evaluation import evaluate_scores
    from speechbrain_atst.evaluation import scores_to_dataframe

    x = np.full((156, 2), 0.1)
    x[30:46, 0] = 0.9
    x[60:80, 1] = 0.8
    metrics = evaluate_scores(
        {"a": scores_to_dataframe(x, ["Cat", "Dog"])},
        {"a": [(1.92, 2.944, "Cat"), (3.84, 5.12, "Dog")]},
        {"a": 10.0},
    )
    out = {
        "psds1": metrics["psds1"],
        "collar_f1_macro": metrics["collar_f1_macro"],
        "imported": sorted(
            name
            for name in ("dcase_util", "pkg_resources", "sed_eval")
            if name in sys.modules
        ),
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import sed_eval
            import sed_eval.util
    except ModuleNotFoundError as err:
        out["sed_eval_missing"] = err.name
    else:
        out["sed_eval_file"] = sed_eval.__file__
        out["sound_event"] = hasattr(sed_eval, "sound_event")
        out["bipartite_match_module"] = sed_eval.util.bipartite_match.__module__
    print(json.dumps(out))
    """
)


def _env():
    """Environment of the subprocesses: the repository importable, the
    warning filters a user has (none set)."""
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run(args, cwd):
    """Runs ``args``; returns the completed process (text output)."""
    return subprocess.run(
        args,
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def fresh_evaluation(tmp_path_factory):
    """Output of ``EVALUATE`` in a fresh interpreter with ``-W error``."""
    cwd = tmp_path_factory.mktemp("fresh")
    proc = _run([sys.executable, "-W", "error", "-c", EVALUATE], cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def test_evaluation_imports_no_dcase_util_nor_pkg_resources(
    fresh_evaluation,
):
    out, stderr = fresh_evaluation
    # Any warning would have been an error (-W error).
    assert "Warning" not in stderr
    assert out["psds1"] == pytest.approx(1.0)
    assert out["collar_f1_macro"] == 1.0
    # Not even the placeholder sed_eval is left behind.
    assert out["imported"] == []


def test_later_import_sed_eval_is_the_real_package(fresh_evaluation):
    out, _ = fresh_evaluation
    if out.get("sed_eval_missing") == "pkg_resources":
        # setuptools >= 81: the real sed_eval fails to import (it needs
        # pkg_resources), exactly as without us: no placeholder answered.
        import importlib.util

        assert importlib.util.find_spec("pkg_resources") is None
        assert out["imported"] == []
        return
    assert "sed_eval_missing" not in out, out
    assert out["sound_event"]
    assert Path(out["sed_eval_file"]).name == "__init__.py"
    assert out["bipartite_match_module"].startswith("sed_eval.")


def test_sed_eval_imported_first_is_used_as_it_is(tmp_path):
    script = textwrap.dedent(
        """
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import sed_eval.util
        except ModuleNotFoundError as err:
            print("missing", err.name)
            raise SystemExit(0)
        from speechbrain_atst.evaluation.compat import sed_scores_eval

        stats = sed_scores_eval().collar_based.intermediate_statistics
        print("same", stats.bipartite_match is sed_eval.util.bipartite_match)
        """
    )
    proc = _run([sys.executable, "-c", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    if proc.stdout.strip() == "missing pkg_resources":
        # setuptools >= 81: sed_eval cannot be imported first at all.
        import importlib.util

        assert importlib.util.find_spec("pkg_resources") is None
        return
    assert proc.stdout.strip() == "same True"


def test_missing_sed_eval_is_a_clear_error(monkeypatch):
    real_find_spec = compat.importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "sed_eval":
            return None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(compat.importlib.util, "find_spec", find_spec)
    with pytest.raises(ImportError, match="pip install sed_eval"):
        compat._sed_eval_placeholders()


def _scores():
    """Score DataFrame of clip ``a``: both events found."""
    x = np.full((156, 2), 0.1)
    x[30:46, 0] = 0.9
    x[60:80, 1] = 0.8
    return scores_to_dataframe(x, CLASSES)


def test_read_only_score_array_is_accepted():
    statistics = sed_scores_eval().base_modules.statistics
    guarded = statistics.onset_offset_curves
    scores = np.array([0.4, 1.0, 0.6, 0.6, 1.0, 1.0, 0.4])
    timestamps = np.linspace(0.0, 1.4, 8)
    expected = guarded(scores.copy(), timestamps)
    scores.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        guarded.__wrapped__(scores, timestamps)  # sed_scores_eval 0.0.4
    got = guarded(scores, timestamps)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not scores.flags.writeable  # the caller's array is left alone


def test_read_only_dataframe_values_give_the_same_metrics():
    frame = _scores()
    expected = evaluate_scores({"a": frame}, GROUND_TRUTH, DURATIONS)
    values = frame.to_numpy(copy=True)
    values.flags.writeable = False
    read_only = pd.DataFrame(values, columns=frame.columns, copy=False)
    # Copy-on-write (always on from pandas 3, an option of pandas 2) makes
    # to_numpy() return read-only views.
    if int(pd.__version__.split(".")[0]) >= 3:
        copy_on_write = contextlib.nullcontext()
    else:
        copy_on_write = pd.option_context("mode.copy_on_write", True)
    with copy_on_write:
        got = evaluate_scores({"a": read_only}, GROUND_TRUTH, DURATIONS)
    for key in ("psds1", "psds2", "collar_f1_macro", "intersection_f1_macro"):
        assert got[key] == expected[key]


def _speechbrain_atst():
    """Command line of the console script (or ``python -m``)."""
    script = Path(sys.executable).with_name("speechbrain-atst")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "speechbrain_atst.cli"]


def test_cli_evaluate_prints_no_warning(tmp_path):
    proc = _run([*_speechbrain_atst(), "evaluate", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "--ground_truth" in proc.stdout
    assert "Warning" not in proc.stderr, proc.stderr

    write_scores({"a": _scores()}, tmp_path / "scores")
    rows = ["filename\tonset\toffset\tevent_label"]
    rows += [f"a.wav\t{on}\t{off}\t{lab}" for on, off, lab in GROUND_TRUTH["a"]]
    (tmp_path / "gt.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "dur.tsv").write_text("filename\tduration\na.wav\t10.0\n")
    args = [
        *_speechbrain_atst(),
        "evaluate",
        "--scores",
        "scores",
        "--ground_truth",
        "gt.tsv",
        "--durations",
        "dur.tsv",
        "--out",
        "metrics.json",
    ]
    proc = _run(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["psds1"] == pytest.approx(1.0)
    assert metrics["collar_f1_macro"] == 1.0
