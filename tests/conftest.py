"""Shared pytest fixtures: small synthesized DESED-format datasets.

* ``mini_desed``: the ``"small"`` synthesized dataset (ten classes, a few
  dozen clips per subset), built once per test session;
* ``mini_manifests``: its manifests and evaluation TSVs (``prepare_desed``);
* ``tiny_sed_data``: a three-class dataset of the same size with its
  manifests, on which a tiny model learns in a few dozen CPU steps (PSDS
  with ten classes needs far more training);
* ``recipe_env`` / ``REPO_ROOT``: environment to run the recipes in
  subprocesses with the package importable.

Authors
 * speechbrain-atst team 2026
"""

import os
from pathlib import Path

import pytest

#: Root of the repository (parent of ``tests/``).
REPO_ROOT = Path(__file__).resolve().parents[1]
#: Classes of ``tiny_sed_data``: three long, distinct sound families.
TINY_CLASSES = ["Alarm_bell_ringing", "Frying", "Vacuum_cleaner"]


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
def recipe_env():
    """Environment for recipe subprocesses: the repository on PYTHONPATH,
    one computation thread per process (the CPU is shared)."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    return env
