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
    packages=find_packages(include=["speechbrain_atst", "speechbrain_atst.*"]),
    install_requires=[
        "speechbrain>=1.1,<1.2",
        "torch>=2.4",
        "torchaudio>=2.4",
        "hyperpyyaml>=1.2.3",
        # sed_scores_eval 0.0.4 (latest on PyPI) breaks on pandas 3 (read-only
        # arrays under copy-on-write) and imports pkg_resources through
        # sed_eval -> dcase_util, which setuptools 81 removed.
        "sed_scores_eval==0.0.4",
        "pandas>=1.5,<3",
        "setuptools<81",
        "soundfile>=0.12",
        "scipy>=1.10",
        "numpy>=1.24",
        "tqdm",
    ],
    extras_require={
        "plot": ["matplotlib>=3.7"],
        "test": ["pytest>=8", "ruff>=0.6", "matplotlib>=3.7"],
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
