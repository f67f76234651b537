# The package's metadata lives in pyproject.toml; this file lets `python setup.py bdist_wheel` work too, and puts
# conf.yaml.example in the wheel where the Agent's installer looks for it.
import os

from setuptools import setup
from setuptools.command.build_py import build_py

CHECK = 'cloudtrail'
EXAMPLE = 'conf.yaml.example'


class BuildPy(build_py):
    """Also ship conf.yaml.example as `datadog_checks/cloudtrail/data/conf.yaml.example`.

    `datadog-agent integration install -w <wheel>` installs the wheel, then copies the `*.yaml*` files of
    `<site-packages>/datadog_checks/<check>/data/` into `conf.d/<check>.d/`, and fails when that folder is missing.
    Only that data file goes under datadog_checks/ (no `__init__.py`): the Agent's loader tries
    `import datadog_checks.cloudtrail` first, finds no check class in that empty namespace package, and goes on to
    `import cloudtrail`, the package that holds the check. scripts/check_wheel.py verifies both.
    """

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, 'datadog_checks', CHECK, 'data')
        self.mkpath(target)
        self.copy_file(EXAMPLE, os.path.join(target, EXAMPLE))

    def get_outputs(self, include_bytecode=True):
        example = os.path.join(self.build_lib, 'datadog_checks', CHECK, 'data', EXAMPLE)
        return [*super().get_outputs(include_bytecode), example]


setup(cmdclass={'build_py': BuildPy})
