# The package's metadata lives in pyproject.toml; this file lets `python setup.py bdist_wheel` work too.
from setuptools import setup

setup()
