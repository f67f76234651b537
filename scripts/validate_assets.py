#!/usr/bin/env python
"""Validate manifest.json, metadata.csv, assets/ (service checks, dashboards, config spec) and README.md.

    .ddev-venv/bin/python scripts/validate_assets.py     (or `make validate`, which installs ddev first)

Exit status 1 when any rule fails; warnings are printed and do not fail.

ddev's validations assume the integrations-core layout: `<root>/<check>/manifest.json`, the example config in
`<check>/datadog_checks/<check>/data/conf.yaml.example`, the version in `<check>/datadog_checks/<check>/__about__.py`.
This repository is one integration at its root, with a top-level `cloudtrail/` package. So this script copies the
files those validations read into that layout, in a temporary directory (a git repository, as ddev wants), and:

1. runs ddev's own commands there: `ddev --here validate {metadata,service-checks,dashboards,config,readmes}`;
2. runs datadog-checks-dev's manifest v2 validators (the ones `ddev` used to run as `validate manifest`) in-process;
3. checks what those leave to Datadog's servers: the manifest schema itself is validated by an API call that needs
   a Datadog organization (datadog-checks-dev's SchemaValidator), so the structural rules of a v2 manifest are
   checked here instead, as documented for integrations; plus consistency between the files (README anchors the
   tile points to, metrics and the service check used by the dashboards, package name).

`ddev validate models` is not run: scripts/sync_config.py --check covers conf.yaml.example and the config models
(ddev would also want its Datadog license header on the generated files). `ddev validate package` is not run
either: besides the package name (checked here) it requires a hatchling build (`tool.hatch.version.path`), and
this project builds with setuptools.
"""

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import uuid
from email.errors import HeaderParseError, InvalidHeaderDefect
from email.headerregistry import Address
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent

# ddev's commands that run unchanged on the staged layout.
DDEV_VALIDATIONS = ('metadata', 'service-checks', 'dashboards', 'config', 'readmes')

# Manifest v2 classifier tags: `<Key>::<Value>`, with these keys (Datadog's integration assets reference).
CLASSIFIER_KEYS = {'Category', 'Supported OS', 'Offering', 'Submitted Data Type', 'Queried Data Type'}
SUPPORTED_OS = {'Linux', 'Windows', 'macOS'}
SUBMITTED_DATA_TYPES = {'Metrics', 'Logs', 'Events', 'Traces', 'Incidents'}

# Values that only whoever publishes the integration can give: reported as warnings until they are filled in.
PLACEHOLDER_DOMAINS = ('example.com', 'example.org', 'example.net')

DASHBOARD_METRIC = re.compile(r'(?:^|[^\w.])(cloudtrail(?:\.[a-z_]+)+)\s*\{')


class Report:
    def __init__(self):
        self.failures = []
        self.warnings = []

    def fail(self, where, message):
        self.failures.append(f'{where}: {message}')

    def warn(self, where, message):
        self.warnings.append(f'{where}: {message}')


def check_name():
    """The integration's name, as the Agent derives it from the package name `datadog-<name>`."""
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text(encoding='utf-8'))['project']
    return project['name'].removeprefix('datadog-').replace('-', '_')


def stage(workdir, name):
    """Copy what ddev's validations read into `<workdir>/<name>/`, in the integrations-core layout."""
    target = Path(workdir) / name
    target.mkdir()
    for entry in ('manifest.json', 'metadata.csv', 'README.md', 'CHANGELOG.md', 'pyproject.toml', 'hatch.toml'):
        if (ROOT / entry).exists():
            shutil.copy2(ROOT / entry, target / entry)
    shutil.copytree(ROOT / 'assets', target / 'assets')
    package = target / 'datadog_checks' / name
    (package / 'data').mkdir(parents=True)
    shutil.copy2(ROOT / 'conf.yaml.example', package / 'data' / 'conf.yaml.example')
    shutil.copy2(ROOT / name / '__about__.py', package / '__about__.py')
    # ddev's metadata validation lists git worktrees: an empty repository is enough.
    subprocess.run(['git', 'init', '--quiet', str(workdir)], check=True)
    return target


def run_ddev(workdir, name, report):
    ddev = shutil.which('ddev', path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get('PATH', '')]))
    if ddev is None:
        sys.exit('validate_assets.py: ddev is not installed here; run it with `make validate` (.ddev-venv/).')
    env = {**os.environ, 'NO_COLOR': '1', 'TERM': 'dumb'}
    for validation in DDEV_VALIDATIONS:
        result = subprocess.run(
            [ddev, '--here', 'validate', validation, name],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        status = 'ok' if result.returncode == 0 else 'FAILED'
        print(f'ddev validate {validation}: {status}')
        if result.returncode != 0:
            print('    ' + result.stdout.strip().replace('\n', '\n    '))
            report.fail(f'ddev validate {validation}', f'exit status {result.returncode} (output above)')


def run_manifest_validators(workdir, name, manifest, report):
    """datadog-checks-dev's manifest v2 rules, minus the schema check that needs Datadog's API."""
    from datadog_checks.dev.tooling.constants import set_root
    from datadog_checks.dev.tooling.datastructures import JSONDict
    from datadog_checks.dev.tooling.manifest_validator.v2.validator import get_v2_validators

    set_root(str(workdir))
    decoded = JSONDict(manifest)
    # A third-party integration is validated like those of integrations-extras.
    for validator in get_v2_validators(ctx=None, is_extras=True, is_marketplace=False, ignore_schema=True):
        validator.validate(name, decoded, False)
        label = f'manifest ({type(validator).__name__})'
        for message in validator.result.messages['failure']:
            report.fail(label, message.strip())
        for message in validator.result.messages['warning']:
            report.warn(label, message.strip())
    print('manifest v2 validators (datadog-checks-dev): done')


def readme_anchors():
    """The anchors of README.md's headings, as GitHub and Datadog's tile build them."""
    anchors = set()
    in_code = False
    for line in (ROOT / 'README.md').read_text(encoding='utf-8').splitlines():
        if line.startswith('```'):
            in_code = not in_code
        elif not in_code and (match := re.match(r'#{1,6}\s+(.*?)\s*#*$', line)):
            anchors.add(re.sub(r'[^\w\- ]', '', match.group(1).lower()).replace(' ', '-'))
    return anchors


def valid_email(address):
    try:
        Address(addr_spec=address)
    except (InvalidHeaderDefect, HeaderParseError, ValueError, IndexError):
        return False
    return '@' in address


def get(data, path, report, kind, where='manifest.json'):
    """data['a']['b'] for path 'a/b', checked to be of `kind`; None (and a failure) otherwise."""
    value = data
    for part in path.split('/'):
        if not isinstance(value, dict) or part not in value:
            report.fail(where, f'`{path}` is required')
            return None
        value = value[part]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else ' or '.join(k.__name__ for k in kind)
        report.fail(where, f'`{path}` must be a {names}, not {type(value).__name__}')
        return None
    return value


def check_manifest_structure(manifest, name, report):
    """The shape of a v2 manifest (what Datadog's schema endpoint checks), and that its paths exist."""
    if manifest.get('manifest_version') != '2.0.0':
        report.fail('manifest.json', '`manifest_version` must be "2.0.0"')
    app_uuid = get(manifest, 'app_uuid', report, str)
    if app_uuid is not None:
        try:
            uuid.UUID(app_uuid)
        except ValueError:
            report.fail('manifest.json', f'`app_uuid` is not a UUID: {app_uuid!r}')
    app_id = get(manifest, 'app_id', report, str)
    if app_id is not None and not re.fullmatch(r'[a-z0-9]+(?:-[a-z0-9]+)*', app_id):
        report.fail('manifest.json', f'`app_id` must be lower-case words joined by hyphens: {app_id!r}')
    get(manifest, 'display_on_public_website', report, bool)

    anchors = readme_anchors()
    for key in ('overview', 'configuration', 'support'):
        target = get(manifest, f'tile/{key}', report, str)
        if target is None:
            continue
        document, _, anchor = target.partition('#')
        if document != 'README.md' or not anchor:
            report.fail('manifest.json', f'`tile/{key}` must point to a README.md section: {target!r}')
        elif anchor.lower() not in anchors:
            report.fail('manifest.json', f'`tile/{key}` points to README.md#{anchor}, which has no such heading')
    changelog = get(manifest, 'tile/changelog', report, str)
    if changelog is not None and not (ROOT / changelog).is_file():
        report.fail('manifest.json', f'`tile/changelog` names a missing file: {changelog}')
    title = get(manifest, 'tile/title', report, str)
    if title is not None and not title.strip():
        report.fail('manifest.json', '`tile/title` is empty')
    get(manifest, 'tile/description', report, str)  # its length is checked by TileDescriptionValidator
    get(manifest, 'tile/media', report, list)  # its entries are checked by MediaGalleryValidator

    tags = get(manifest, 'tile/classifier_tags', report, list) or []
    keys = {}
    for tag in tags:
        key, sep, value = tag.partition('::') if isinstance(tag, str) else ('', '', '')
        if not sep or key not in CLASSIFIER_KEYS or not value:
            form = f'<{"|".join(sorted(CLASSIFIER_KEYS))}>::<value>'
            report.fail('manifest.json', f'classifier tag {tag!r} is not `{form}`')
            continue
        keys.setdefault(key, set()).add(value)
    if tags != sorted(tags, key=str):
        report.warn('manifest.json', '`tile/classifier_tags` are not sorted')
    for value in keys.get('Supported OS', set()) - SUPPORTED_OS:
        report.fail('manifest.json', f'unknown `Supported OS::{value}`; use one of {sorted(SUPPORTED_OS)}')
    for value in keys.get('Submitted Data Type', set()) - SUBMITTED_DATA_TYPES:
        report.fail('manifest.json', f'unknown `Submitted Data Type::{value}`')
    for required in ('Category', 'Supported OS'):
        if required not in keys:
            report.fail('manifest.json', f'`tile/classifier_tags` needs at least one `{required}::` tag')

    author_name = get(manifest, 'author/name', report, str)
    if author_name is not None and not author_name.strip():
        report.fail('manifest.json', '`author/name` is empty')
    email = get(manifest, 'author/support_email', report, str)
    if email is not None and not valid_email(email):
        report.fail('manifest.json', f'`author/support_email` is not an email address: {email!r}')
    homepage = get(manifest, 'author/homepage', report, str)
    if homepage is not None and not re.match(r'https?://[^/\s]+', homepage):
        report.fail('manifest.json', f'`author/homepage` is not an http(s) URL: {homepage!r}')
    hosts = (('support_email', email, email and email.rpartition('@')[2]),
             ('homepage', homepage, homepage and urlparse(homepage).hostname))
    for field, value, host in hosts:
        if host and any(host == d or host.endswith(f'.{d}') for d in PLACEHOLDER_DOMAINS):
            report.warn('manifest.json', f'`author/{field}` is a placeholder ({value}): set the real one before '
                                         'publishing (see README, Development)')

    integration = get(manifest, 'assets/integration', report, dict)
    if integration is None:
        return
    source_type_name = get(manifest, 'assets/integration/source_type_name', report, str)
    if source_type_name is not None:
        normalized = re.sub(r'_+', '_', re.sub(r'[^0-9A-Za-z-]', '_', source_type_name)).strip('_').lower()
        if normalized != name:
            report.warn('manifest.json', f'`source_type_name` {source_type_name!r} normalizes to {normalized!r}, '
                                         f'not the check name {name!r}')
    source_type_id = get(manifest, 'assets/integration/source_type_id', report, int)
    if source_type_id is not None:
        if source_type_id < 0:
            report.fail('manifest.json', '`assets/integration/source_type_id` must not be negative')
        elif source_type_id == 0:
            report.warn('manifest.json', '`assets/integration/source_type_id` is 0: unassigned until the integration '
                                         'is registered with Datadog (see README, Development)')
    get(manifest, 'assets/integration/auto_install', report, bool)
    get(manifest, 'assets/integration/events/creates_events', report, bool)
    spec = get(manifest, 'assets/integration/configuration/spec', report, str)
    if spec is not None and not (ROOT / spec).is_file():
        report.fail('manifest.json', f'`assets/integration/configuration/spec` names a missing file: {spec}')
    prefix = get(manifest, 'assets/integration/metrics/prefix', report, str)
    if prefix is not None and not (prefix.endswith('.') and prefix.startswith(f'{name}.')):
        report.fail('manifest.json', f'`assets/integration/metrics/prefix` should be {name + "."!r}: {prefix!r}')
    get(manifest, 'assets/integration/metrics/check', report, (str, list))
    for key in ('metrics/metadata_path', 'service_checks/metadata_path'):
        path = get(manifest, f'assets/integration/{key}', report, str)
        if path is not None and not (ROOT / path).is_file():
            report.fail('manifest.json', f'`assets/integration/{key}` names a missing file: {path}')
    for kind in ('dashboards', 'monitors', 'saved_views'):
        entries = manifest.get('assets', {}).get(kind, {})
        if not isinstance(entries, dict):
            report.fail('manifest.json', f'`assets/{kind}` must map short names to files')
            continue
        for short_name, path in entries.items():
            if not (ROOT / path).is_file():
                report.fail('manifest.json', f'`assets/{kind}/{short_name}` names a missing file: {path}')


def check_dashboards(manifest, report):
    """Every metric a dashboard queries is in metadata.csv; the service checks it shows exist."""
    with open(ROOT / manifest['assets']['integration']['metrics']['metadata_path'], encoding='utf-8') as f:
        metrics = {row['metric_name'] for row in csv.DictReader(f)}
    with open(ROOT / manifest['assets']['integration']['service_checks']['metadata_path'], encoding='utf-8') as f:
        service_checks = {entry['check'] for entry in json.load(f)}
    for short_name, path in manifest.get('assets', {}).get('dashboards', {}).items():
        where = path
        try:
            dashboard = json.loads((ROOT / path).read_text(encoding='utf-8'))
        except (OSError, ValueError) as e:
            report.fail(where, f'unreadable: {e}')
            continue
        if dashboard.get('title') != short_name:
            report.warn(where, f'title {dashboard.get("title")!r} differs from its manifest short name {short_name!r}')
        text = json.dumps(dashboard)
        used = set(DASHBOARD_METRIC.findall(text))
        for metric in sorted(used - metrics):
            report.fail(where, f'queries {metric}, which metadata.csv does not list')
        for metric in sorted(metrics - used):
            report.warn(where, f'does not show {metric} (metadata.csv)')
        for check in sorted(set(re.findall(r'"check": "([^"]+)"', text)) - service_checks):
            report.fail(where, f'shows service check {check}, which service_checks.json does not list')


def check_package(name, report):
    """The rules of `ddev validate package` that apply to a setuptools build, and what the Agent needs."""
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text(encoding='utf-8'))['project']
    expected = f'datadog-{name}'.replace('_', '-')
    if re.sub(r'[-_.]+', '-', project['name']).lower() != expected:
        report.fail('pyproject.toml', f'the project name must be {expected!r} (`datadog-<check>`): {project["name"]!r}')
    if not (ROOT / name / '__init__.py').is_file():
        report.fail('pyproject.toml', f'the check package {name}/ is missing')
    for author in project.get('authors', []):
        if 'email' in author and not valid_email(author['email']):
            report.fail('pyproject.toml', f'invalid author email: {author["email"]!r}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--keep', action='store_true', help='keep the staged directory and print its path')
    args = parser.parse_args(argv)

    report = Report()
    name = check_name()
    manifest = json.loads((ROOT / 'manifest.json').read_text(encoding='utf-8'))

    workdir = tempfile.mkdtemp(prefix='validate-assets-')
    try:
        stage(workdir, name)
        run_ddev(workdir, name, report)
        run_manifest_validators(workdir, name, manifest, report)
    finally:
        if args.keep:
            print(f'staged layout kept in {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    check_manifest_structure(manifest, name, report)
    check_dashboards(manifest, report)
    check_package(name, report)

    for warning in report.warnings:
        print(f'warning: {warning}')
    for failure in report.failures:
        print(f'FAILED: {failure}')
    if report.failures:
        print(f'validate_assets.py: {len(report.failures)} failures, {len(report.warnings)} warnings.')
        return 1
    print(f'validate_assets.py: manifest, metadata, service checks, dashboards, config and README are valid '
          f'({len(report.warnings)} warnings).')
    return 0


if __name__ == '__main__':
    sys.exit(main())
