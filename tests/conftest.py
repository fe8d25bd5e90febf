"""Shared pytest fixtures: small synthesized DESED-format datasets.

* ``mini_desed``: the ``"small"`` synthesized dataset (ten classes, a few
  dozen clips per subset), built once per test session;
* ``mini_manifests``: its manifests and evaluation TSVs (``prepare_desed``);
* ``tiny_sed_data``: a three-class dataset of the same size with its
  manifests, on which a tiny model learns in a few dozen CPU steps (PSDS
  with ten classes needs far more training);
* ``small_sed_data``: the same classes at half the "small" scale (four
  training steps per epoch with batches of [1, 1, 2, 2]), for the runs
  that test the training machinery, not learning (DDP, kill and resume,
  non-finite values);
* ``recipe_env`` / ``REPO_ROOT``: environment to run the recipes in
  subprocesses with the package importable;
* ``atst_parity``: the ATST-SED parity files (official checkpoint layouts,
  reference tensors) rebuilt from ``tests/fixtures/atst_parity.pack.xz``;
* ``desed_validation_real``: the real DESED validation metadata and a real
  system's scores, extracted from
  ``tests/fixtures/desed_validation_real.tar.xz``.

Authors
 * speechbrain-atst team 2026
"""

import importlib.util
import os
from pathlib import Path

import pytest

#: Root of the repository (parent of ``tests/``).
REPO_ROOT = Path(__file__).resolve().parents[1]
#: Compact fixture files and the code that unpacks them (README.md there).
FIXTURES = REPO_ROOT / "tests" / "fixtures"
#: Classes of ``tiny_sed_data``: three long, distinct sound families.
TINY_CLASSES = ["Alarm_bell_ringing", "Frying", "Vacuum_cleaner"]


def pytest_configure(config):
    """One PyTorch thread in the test process.

    The tests run tiny models, whose many small ops gain nothing from a
    second thread; on a machine whose cores other processes keep busy,
    threads that wait for each other make them several times slower
    (the recipe runs and their subprocesses use one thread too:
    ``recipe_env``, ``cpu_threads`` in tiny.yaml).
    """
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mini_desed(tmp_path_factory):
    """Folder of the "small" synthesized DESED dataset (seed 0)."""
    from speechbrain_atst.data.synth import synthesize_mini_desed

    folder = tmp_path_factory.mktemp("mini_desed")
    synthesize_mini_desed(folder, scale="small", seed=0)
    return folder


@pytest.fixture(scope="session")
def mini_manifests(mini_desed, tmp_path_factory):
    """Folder of the manifests and TSVs prepared from ``mini_desed``."""
    from speechbrain_atst.data.desed import prepare_desed

    folder = tmp_path_factory.mktemp("mini_manifests")
    prepare_desed(mini_desed, folder)
    return folder


@pytest.fixture(scope="session")
def tiny_sed_data(tmp_path_factory):
    """A three-class small dataset: ``data_folder``, ``manifest_folder``,
    ``classes``."""
    from speechbrain_atst.data.desed import prepare_desed
    from speechbrain_atst.data.synth import synthesize_mini_desed

    data = tmp_path_factory.mktemp("tiny_sed_data")
    manifests = tmp_path_factory.mktemp("tiny_sed_manifests")
    synthesize_mini_desed(data, scale="small", seed=0, classes=TINY_CLASSES)
    prepare_desed(data, manifests, classes=TINY_CLASSES)
    return {
        "data_folder": str(data),
        "manifest_folder": str(manifests),
        "classes": list(TINY_CLASSES),
    }


@pytest.fixture(scope="session")
def small_sed_data(tmp_path_factory):
    """Half-"small" three-class dataset: ``data_folder``,
    ``manifest_folder``, ``classes``."""
    from speechbrain_atst.data.desed import prepare_desed
    from speechbrain_atst.data.synth import synthesize_mini_desed

    data = tmp_path_factory.mktemp("small_sed_data")
    manifests = tmp_path_factory.mktemp("small_sed_manifests")
    synthesize_mini_desed(data, scale=0.5, seed=0, classes=TINY_CLASSES)
    prepare_desed(data, manifests, classes=TINY_CLASSES)
    return {
        "data_folder": str(data),
        "manifest_folder": str(manifests),
        "classes": list(TINY_CLASSES),
    }


@pytest.fixture(scope="session")
def recipe_env():
    """Environment for recipe subprocesses: the repository on PYTHONPATH,
    one computation thread per process (the CPU is shared)."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _fixture_store():
    """The module ``tests/fixtures/fixture_store.py`` (tests/ is no
    package)."""
    path = FIXTURES / "fixture_store.py"
    spec = importlib.util.spec_from_file_location("fixture_store", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def atst_parity(tmp_path_factory):
    """Folder of the ATST-SED parity files in their official layouts:
    ``atst_frame_as2M_format.ckpt``, ``atst_sed_stage_format.ckpt``,
    ``reference_io.pt``, ``config.json``."""
    folder = tmp_path_factory.mktemp("atst_parity")
    return _fixture_store().rebuild_atst_parity(folder)


@pytest.fixture(scope="session")
def desed_validation_real(tmp_path_factory):
    """Folder of the real DESED validation fixture: ``validation.tsv``,
    ``validation_durations.tsv``, ``scores_student/``,
    ``reference_metrics_student.json``."""
    folder = tmp_path_factory.mktemp("desed_validation_real")
    return _fixture_store().extract_archive(folder)
