"""Lazy package exports: public names imported from their modules on
first access, so importing a package (or one of its submodules) does not
import every dependency of its siblings (torch, onnxruntime...).

Authors
 * speechbrain-atst team 2026
"""

import importlib


def lazy_getattr(package, exports):
    """A module ``__getattr__`` importing ``exports`` on first access.

    Arguments
    ---------
    package : str
        The package's ``__name__``.
    exports : dict
        ``{public name: submodule name}``.

    Returns
    -------
    callable
        The ``__getattr__`` of the package (PEP 562).

    Example
    -------
    >>> getattr_ = lazy_getattr(
    ...     "speechbrain_atst", {"shipped_path": "resources"}
    ... )
    >>> getattr_("shipped_path").__module__
    'speechbrain_atst.resources'
    >>> getattr_("nope")
    Traceback (most recent call last):
    ...
    AttributeError: module 'speechbrain_atst' has no attribute 'nope'
    """

    def __getattr__(name):
        if name in exports:
            module = importlib.import_module(f"{package}.{exports[name]}")
            return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
