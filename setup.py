"""Installs speechbrain-atst: ATST-SED sound event detection for SpeechBrain."""

import os

from setuptools import find_packages, setup

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "README.md"), encoding="utf-8") as fin:
    long_description = fin.read()

setup(
    name="speechbrain-atst",
    version="0.1.0",
    description=(
        "ATST-SED (ATST-Frame + CRNN) sound event detection as a "
        "SpeechBrain plugin"
    ),
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    # The recipes and the inference template live at the top of the
    # repository (SpeechBrain layout) and ship inside the package, so that a
    # wheel can export models and run the quickstart (see
    # speechbrain_atst/resources.py).
    packages=find_packages(include=["speechbrain_atst", "speechbrain_atst.*"])
    + ["speechbrain_atst.recipes", "speechbrain_atst.hparams"],
    package_dir={
        "speechbrain_atst.recipes": "recipes",
        "speechbrain_atst.hparams": "hparams",
    },
    package_data={
        "speechbrain_atst.recipes": [
            "*/*/*.py",
            "*/*/*.md",
            "*/*/hparams/*.yaml",
            "*/*/splits/*",
        ],
        "speechbrain_atst.hparams": ["*.yaml"],
    },
    install_requires=[
        "speechbrain>=1.1,<1.2",
        "torch>=2.4",
        "torchaudio>=2.4",
        "hyperpyyaml>=1.2.3",
        # 0.0.4 is the latest release on PyPI; speechbrain_atst.evaluation
        # imports it without sed_eval's pkg_resources dependency and guards
        # its Cython code against pandas 3's read-only arrays.
        "sed_scores_eval==0.0.4",
        "pandas>=1.5",
        "soundfile>=0.12",
        "scipy>=1.10",
        "numpy>=1.24",
        "tqdm",
    ],
    extras_require={
        "plot": ["matplotlib>=3.7"],
        "onnx": ["onnx>=1.16", "onnxruntime>=1.18"],
        "test": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "ruff>=0.6",
            "matplotlib>=3.7",
            "onnx>=1.16",
            "onnxruntime>=1.18",
        ],
    },
    entry_points={
        "console_scripts": ["speechbrain-atst=speechbrain_atst.cli:main"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Multimedia :: Sound/Audio :: Analysis",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
