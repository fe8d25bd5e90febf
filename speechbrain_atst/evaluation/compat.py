"""The one import of sed_scores_eval, and what keeps its 0.0.4 release working.

Every use of sed_scores_eval in speechbrain_atst goes through
``sed_scores_eval()``, which returns the package with two problems of
release 0.0.4 (the latest on PyPI) worked around:

* **pkg_resources.** ``import sed_scores_eval`` imports
  ``sed_scores_eval.collar_based``, whose ``intermediate_statistics`` does
  ``from sed_eval.util import bipartite_match``; that imports all of
  sed_eval, hence dcase_util, whose ``utils/utils.py`` does
  ``import pkg_resources``: a deprecation warning on setuptools < 81 and an
  ImportError on setuptools >= 81, which removed pkg_resources. The
  evaluation needs nothing of sed_eval but ``bipartite_match`` (and
  sed_scores_eval's ``reference`` modules, which use sed_eval and dcase_util
  themselves, import them inside their functions). So, unless sed_eval is
  already imported (then it is used as it is), the real
  ``bipartite_match`` is loaded from the installed
  ``sed_eval/util/event_matching.py`` (a file without imports), and
  placeholder ``sed_eval`` and ``sed_eval.util`` modules holding only that
  function are registered in ``sys.modules`` just while sed_scores_eval is
  imported. They are removed right after, so a later ``import sed_eval``
  (by the user, or by a ``reference`` function) loads the real package.
  (Only a thread importing sed_eval at that very moment could see them.)
* **Read-only arrays.** Under pandas copy-on-write (the default from
  pandas 3) ``DataFrame.to_numpy()`` returns read-only views, which the
  Cython ``onset_offset_curves`` of sed_scores_eval 0.0.4 rejects ("buffer
  source array is read-only"); ``ensure_writable_score_arrays`` wraps it so
  that such arrays are copied first (the fix sed_scores_eval made after
  0.0.4).

Authors
 * speechbrain-atst team 2026
"""

import importlib
import importlib.util
import sys
import threading
import types
from pathlib import Path

import numpy as np

#: Guards the temporary entries of ``sys.modules`` and the cached package.
_LOCK = threading.RLock()
#: The sed_scores_eval package once imported.
_PACKAGE = None


def sed_scores_eval():
    """The sed_scores_eval package, imported without dcase_util.

    Imports sed_scores_eval without pkg_resources (see the module
    docstring) on the first call and makes sure, on every call, that its
    statistics accept read-only score arrays.

    Returns
    -------
    module
        The ``sed_scores_eval`` package.

    Raises
    ------
    ImportError
        If sed_scores_eval or sed_eval is not installed.

    Example
    -------
    >>> sse = sed_scores_eval()
    >>> sse.intersection_based.psds.__name__
    'psds'
    >>> sse.base_modules.statistics.onset_offset_curves._writable_guard
    True
    """
    package = _load()
    ensure_writable_score_arrays()
    return package


def _load():
    """The sed_scores_eval package, imported on the first call."""
    global _PACKAGE
    with _LOCK:
        if _PACKAGE is None:
            _PACKAGE = _import_sed_scores_eval()
    return _PACKAGE


def _import_sed_scores_eval():
    """Imports sed_scores_eval, with placeholders for sed_eval if needed."""
    if "sed_scores_eval" in sys.modules or "sed_eval" in sys.modules:
        return importlib.import_module("sed_scores_eval")
    placeholders = _sed_eval_placeholders()
    # Modules of a failed import are removed too, so that a second attempt
    # starts afresh.
    before = set(sys.modules)
    sys.modules.update(placeholders)
    try:
        return importlib.import_module("sed_scores_eval")
    except BaseException:
        for name in set(sys.modules) - before:
            if name.startswith("sed_scores_eval"):
                del sys.modules[name]
        raise
    finally:
        for name, module in placeholders.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


def _sed_eval_placeholders():
    """Placeholder ``sed_eval`` and ``sed_eval.util`` holding the real
    ``bipartite_match`` of the installed sed_eval (not imported)."""
    spec = importlib.util.find_spec("sed_eval")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "speechbrain_atst.evaluation needs sed_eval (a dependency of "
            "sed_scores_eval): pip install sed_eval"
        )
    path = None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "util" / "event_matching.py"
        if candidate.is_file():
            path = candidate
            break
    if path is None:
        raise ImportError(
            f"sed_eval/util/event_matching.py not found in "
            f"{list(spec.submodule_search_locations)}; the installed sed_eval "
            f"is not the one sed_scores_eval 0.0.4 expects"
        )
    name = "_speechbrain_atst_sed_eval_event_matching"
    matching_spec = importlib.util.spec_from_file_location(name, path)
    matching = importlib.util.module_from_spec(matching_spec)
    matching_spec.loader.exec_module(matching)
    if not callable(getattr(matching, "bipartite_match", None)):
        raise ImportError(f"{path} defines no bipartite_match")
    package = types.ModuleType("sed_eval", "Placeholder (see compat.py).")
    package.__path__ = []
    util = types.ModuleType("sed_eval.util", "Placeholder (see compat.py).")
    util.bipartite_match = matching.bipartite_match
    package.util = util
    return {"sed_eval": package, "sed_eval.util": util}


def ensure_writable_score_arrays():
    """Makes sed_scores_eval 0.0.4 work with read-only score arrays.

    Under pandas copy-on-write (the default from pandas 3)
    ``DataFrame.to_numpy()`` returns read-only views, which the Cython
    ``onset_offset_curves`` of sed_scores_eval 0.0.4 rejects ("buffer source
    array is read-only"). This wraps the function that sed_scores_eval's
    statistics module calls so that a read-only array is copied first (the
    fix sed_scores_eval made after 0.0.4). Idempotent; the original stays
    available as ``__wrapped__``. ``sed_scores_eval()`` calls it.

    Example
    -------
    >>> ensure_writable_score_arrays()
    >>> statistics = sed_scores_eval().base_modules.statistics
    >>> statistics.onset_offset_curves._writable_guard
    True
    """
    statistics = _load().base_modules.statistics
    current = statistics.onset_offset_curves
    if getattr(current, "_writable_guard", False):
        return

    def onset_offset_curves(scores, *args, **kwargs):
        if isinstance(scores, np.ndarray) and not scores.flags.writeable:
            scores = np.array(scores, copy=True)
        return current(scores, *args, **kwargs)

    onset_offset_curves._writable_guard = True
    onset_offset_curves.__wrapped__ = current
    statistics.onset_offset_curves = onset_offset_curves
