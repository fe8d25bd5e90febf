"""Command-line overrides of the training recipe from a flat YAML file.

``recipes/DESED/SED/train.py`` takes hyperparameter overrides as
``--key=value`` arguments. A flat YAML file of such keys (for instance
``recipes/DESED/SED/hparams/quickstart.yaml`` or the tests' ``tiny.yaml``)
is turned into those arguments by :func:`overrides_from_yaml`, so that a
set of overrides lives in one commented file instead of a long command
line.

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

import yaml


def load_overrides(path, **extra):
    """Reads a flat YAML file of recipe overrides.

    Arguments
    ---------
    path : str or os.PathLike
        The YAML file: a mapping of hyperparameter names to plain values
        (numbers, strings, booleans, null, lists or mappings of those).
        An empty file gives no overrides.
    **extra
        Keys to add or replace.

    Returns
    -------
    dict
        The overrides, in file order, then the new keys of ``extra``.

    Example
    -------
    >>> path = getfixture("tmp_path") / "o.yaml"
    >>> _ = path.write_text("depth: 2\\nlr: 0.001\\n")
    >>> load_overrides(path, depth=3)
    {'depth': 3, 'lr': 0.001}
    """
    try:
        with open(path, encoding="utf-8") as fin:
            values = yaml.safe_load(fin)
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: invalid YAML ({err})") from None
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ValueError(
            f"{path}: expected a mapping of hyperparameter names to values, "
            f"got {type(values).__name__}"
        )
    bad = [key for key in values if not isinstance(key, str)]
    if bad:
        raise ValueError(f"{path}: keys must be names, got {bad}")
    values.update(extra)
    return values


def format_value(value):
    """Text of one override value as SpeechBrain parses it (YAML).

    Arguments
    ---------
    value : object
        A plain value.

    Returns
    -------
    str
        ``null`` for None, flow-style YAML for lists and mappings, else
        ``str(value)``.

    Example
    -------
    >>> format_value([4, 8]), format_value(None), format_value(True)
    ('[4, 8]', 'null', 'True')
    """
    if isinstance(value, (list, tuple, dict)):
        if isinstance(value, tuple):
            value = list(value)
        return yaml.safe_dump(value, default_flow_style=True).strip()
    if value is None:
        return "null"
    return str(value)


def to_arguments(values):
    """``--key=value`` command-line arguments of a mapping of overrides.

    Arguments
    ---------
    values : dict
        ``{name: value}``.

    Returns
    -------
    list of str
        One argument per key, in order.

    Example
    -------
    >>> to_arguments({"batch_sizes": [1, 2, 3, 4], "skip_prep": True})
    ['--batch_sizes=[1, 2, 3, 4]', '--skip_prep=True']
    """
    return [f"--{key}={format_value(value)}" for key, value in values.items()]


def overrides_from_yaml(path, **extra):
    """``--key=value`` arguments of a flat YAML file updated with ``extra``.

    Arguments
    ---------
    path : str or os.PathLike
        The YAML file (see :func:`load_overrides`).
    **extra
        Keys to add or replace.

    Returns
    -------
    list of str
        Command-line arguments for ``train.py``.

    Example
    -------
    >>> path = getfixture("tmp_path") / "o.yaml"
    >>> _ = path.write_text("atst_depth: 2\\nmedian_windows: [7, 7]\\n")
    >>> overrides_from_yaml(path, number_of_epochs=1)
    ['--atst_depth=2', '--median_windows=[7, 7]', '--number_of_epochs=1']
    """
    return to_arguments(load_overrides(path, **extra))


def read_plain_keys(path, keys):
    """Top-level keys with plain values of a HyperPyYAML file.

    The file as a whole needs its tags built (models, objects); the lines
    ``key: value`` of the wanted keys are read alone, as YAML.

    Arguments
    ---------
    path : str or os.PathLike
        The file (e.g. a run's or a model folder's ``hyperparams.yaml``).
    keys : sequence of str
        The keys wanted.

    Returns
    -------
    dict
        ``{key: value}`` of the wanted keys found with a plain value (the
        first line of each).

    Example
    -------
    >>> path = getfixture("tmp_path") / "h.yaml"
    >>> _ = path.write_text(
    ...     "# depth: 9\\ndepth: 2\\nmodel: !new:torch.nn.Linear\\n"
    ...     "    in_features: 2\\nclasses: [a, b]\\n"
    ... )
    >>> read_plain_keys(path, ["depth", "classes", "model"])
    {'depth': 2, 'classes': ['a', 'b']}
    """
    values = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line or line[0].isspace() or line.startswith("#"):
            continue
        key, sep, text = line.partition(":")
        if not sep or key not in keys or key in values or not text.strip():
            continue
        try:
            values[key] = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
    return values
