#!/usr/bin/env python
"""Regenerate conf.yaml.example and cloudtrail/config_models/ from assets/configuration/spec.yaml.

    python scripts/sync_config.py           write the generated files
    python scripts/sync_config.py --check   only compare: exit 1 and list the stale files if any differ (for CI)

This does what integrations-core's `ddev validate config --sync` and `ddev validate models --sync` do, with the
consumers of datadog_checks.dev.tooling.configuration called directly, because ddev assumes the package lives in
`datadog_checks/<name>/` while this one is the top-level `cloudtrail/`. No network access is needed.

Requirements (the `cli` extra of datadog-checks-dev, only the parts used here):
    pip install datadog-checks-dev 'datamodel-code-generator~=0.25.6' 'ruff==0.11.10' semver

`cloudtrail/config_models/validators.py` is hand-written: it is created from the generator's template only when it
is missing and is never overwritten (like ddev's custom files).
"""

import argparse
import difflib
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / 'assets' / 'configuration' / 'spec.yaml'
ABOUT = ROOT / 'cloudtrail' / '__about__.py'
MODELS_DIR = ROOT / 'cloudtrail' / 'config_models'
EXAMPLE_DIR = ROOT
SOURCE = 'cloudtrail'  # the spec's file is named `<SOURCE>.yaml`

# Files the generator only seeds; after that they belong to the developers (same list as ddev's CUSTOM_FILES).
CUSTOM_FILES = frozenset({'validators.py', 'deprecations.py', 'discovery_strategies.py', 'discovery_overrides.py'})

# Put at the top of every generated model file (instead of ddev's Datadog license header).
GENERATED_HEADER = (
    '# This file is generated from assets/configuration/spec.yaml: do not edit it by hand.\n'
    '# To change it, edit the spec and run `python scripts/sync_config.py`.\n'
)

MAX_DIFF_LINES = 200


def load_tooling():
    try:
        from datadog_checks.dev.tooling.configuration import ConfigSpec
        from datadog_checks.dev.tooling.configuration.consumers import ExampleConsumer, ModelConsumer
        from datadog_checks.dev.tooling.constants import set_root
    except ImportError as e:
        sys.exit(
            f'sync_config.py: cannot import the configuration tooling ({e}).\n'
            "Install it with: pip install datadog-checks-dev 'datamodel-code-generator~=0.25.6' 'ruff==0.11.10' semver"
        )
    return ConfigSpec, ExampleConsumer, ModelConsumer, set_root


def version():
    match = (
        re.search(r"""__version__\s*=\s*['"]([^'"]+)['"]""", ABOUT.read_text(encoding='utf-8'))
        if ABOUT.exists()
        else None
    )
    return match.group(1) if match else '0.0.0'


@contextmanager
def chdir(path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def render():
    """{path: expected contents or None for "keep if present"} and a list of errors."""
    ConfigSpec, ExampleConsumer, ModelConsumer, set_root = load_tooling()
    # The model formatter (ruff) looks for a [tool.ruff] section in the pyproject.toml of the "root": make that
    # this repository whatever the current directory or the virtualenv's location.
    set_root(str(ROOT))
    contents = SPEC.read_text(encoding='utf-8')

    def load():
        # Each consumer mutates the loaded spec, so each gets its own copy (ddev runs them in separate commands).
        spec = ConfigSpec(contents, source=SOURCE, version=version())
        spec.load()
        return spec

    errors = []
    files = {}

    spec = load()
    if spec.errors:
        return files, [f'{SPEC.relative_to(ROOT)}: {error}' for error in spec.errors]

    for name, (text, file_errors) in ExampleConsumer(spec.data).render().items():
        errors.extend(f'{name}: {error}' for error in file_errors)
        files[EXAMPLE_DIR / name] = text

    spec = load()
    with chdir(ROOT):
        rendered = ModelConsumer(spec.data).render()
    for name, (text, file_errors) in rendered.get(f'{SOURCE}.yaml', {}).items():
        errors.extend(f'config_models/{name}: {error}' for error in file_errors)
        path = MODELS_DIR / name
        if name in CUSTOM_FILES:
            files[path] = None if path.exists() else text
        else:
            files[path] = f'{GENERATED_HEADER}\n{text}' if text else text

    return files, errors


def read(path):
    try:
        with open(path, encoding='utf-8', newline='') as f:
            return f.read()
    except FileNotFoundError:
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='do not write: exit 1 if a generated file is stale')
    args = parser.parse_args(argv)

    files, errors = render()
    if errors:
        print('sync_config.py: the spec has errors, nothing was written:', file=sys.stderr)
        for error in errors:
            print(f'  {error}', file=sys.stderr)
        return 2

    stale = []
    for path, expected in sorted(files.items()):
        if expected is None:
            continue
        current = read(path)
        if current != expected:
            stale.append((path, current, expected))

    if args.check:
        if not stale:
            checked = sum(expected is not None for expected in files.values())
            print(f'sync_config.py: the {checked} generated files are up to date.')
            return 0
        print('sync_config.py: these files are not in sync with assets/configuration/spec.yaml:', file=sys.stderr)
        for path, current, _ in stale:
            print(f'  {path.relative_to(ROOT)}{" (missing)" if current is None else ""}', file=sys.stderr)
        print('Run `python scripts/sync_config.py` and commit the result.', file=sys.stderr)
        diff = []
        for path, current, expected in stale:
            name = str(path.relative_to(ROOT))
            diff.extend(
                difflib.unified_diff(
                    (current or '').splitlines(True),
                    expected.splitlines(True),
                    f'{name} (on disk)',
                    f'{name} (expected)',
                )
            )
        if diff:
            print(file=sys.stderr)
            sys.stderr.writelines(line if line.endswith('\n') else line + '\n' for line in diff[:MAX_DIFF_LINES])
            if len(diff) > MAX_DIFF_LINES:
                print(f'... {len(diff) - MAX_DIFF_LINES} more diff lines', file=sys.stderr)
        return 1

    for path, _, expected in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, 'w', encoding='utf-8', newline='\n') as f:
            f.write(expected)
        print(f'wrote {path.relative_to(ROOT)}')
    if not stale:
        print('sync_config.py: nothing to do, every generated file is up to date.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
