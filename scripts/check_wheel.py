#!/usr/bin/env python
"""Check the wheel the way the Agent will meet it: install rules, a clean Agent-like Python, the loader, one run.

    .venv/bin/python scripts/check_wheel.py dist/datadog_cloudtrail-<version>-py3-none-any.whl   (`make wheel-check`)

Run it with the development virtualenv (.venv): it serves AWS from a moto server started from there (devtools).
Steps, each fatal when it fails:

1. The rules of `datadog-agent integration install -w` (datadog-agent, cmd/agent/subcommands/integrations):
   the wheel's METADATA must require `datadog-checks-base` (else "not an agent check, it will not be installed");
   its first `Name:` line, `_` turned into `-`, gives the package `datadog-<check>` and the check name (prefix
   dropped, `-` turned into `_`) that names `conf.d/<check>.d/`; after `pip install --no-deps --no-index` the
   installer copies the `*.yaml*` files of `<site-packages>/datadog_checks/<check>/data/` to that folder and fails
   when the folder is missing; the version must match the simplified PEP 440 form it parses (`1.2.3`, `1.2.3b1`).
   Also: a pure-Python wheel, and no runtime requirement beyond datadog-checks-base and boto3.
2. A clean Python 3.13 virtualenv with only what the Agent ships for Python checks:
   `datadog-checks-base[deps,json]` and `boto3`. The wheel is installed into it as the Agent does it
   (`pip install --no-deps --no-index --no-cache-dir`), then `pip check`.
3. Every module the wheel's code imports anywhere (read from its source, so code paths the run below does not take
   count too) must be importable in that virtualenv.
4. The Agent's loader, emulated: `import datadog_checks.<check>`, then `import <check>`; in the first that
   imports, walk `dir(module)` (alphabetical) and take the first subclass of AgentCheck that has no subclasses;
   construct it as `cls(name, init_config, instances=[instance])` and set `check_id`.
5. One run against a moto server holding a trail and a few fresh CloudTrail log objects, with the instance of
   conf.yaml.example (as copied to conf.d by step 1) plus the emulator's endpoint and credentials: the events must
   come out, one per record, and the service check must be OK. A second run must find nothing new (the cursor).
   The interpreter runs isolated (`-I`, from an empty directory), and every module loaded by the end must come from
   that virtualenv: nothing from this checkout, nothing the Agent does not ship.
"""

import argparse
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timedelta, timezone
from email.parser import Parser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.emulator import MotoServer, client  # noqa: E402
from devtools.seed import create_trail, put_objects  # noqa: E402

# What the Agent ships for Python checks (design.md, section 1); the clean virtualenv gets this and nothing else.
AGENT_SHIPPED = ['datadog-checks-base[deps,json]>=38.5', 'boto3']
ALLOWED_REQUIREMENTS = {'datadog-checks-base', 'boto3'}
# Modules the Agent's embedded Python provides itself (datadog-agent rtloader/common/builtins); outside the Agent,
# datadog-checks-base falls back to its stubs.
AGENT_BUILTINS = {'aggregator', 'datadog_agent', '_util', 'util', 'tagger', 'kubeutil', 'containers'}

# datadog-agent's patterns (command.go): the package name line, the YAML files it copies, the versions it parses.
WHEEL_NAME_LINE = re.compile(r'Name: (\S+)')
YAML_FILE = re.compile(r'[\w_]+\.yaml.*')
AGENT_VERSION = re.compile(r'^(\d+\.\d+\.\d+)(?:([a-zA-Z]+)(\d+)?)?$')

TRAIL = 'wheel-check-trail'
BUCKET = 'wheel-check-bucket'

# Runs inside the clean virtualenv. Prints one JSON document.
RUNNER = r'''
import importlib, importlib.util, json, sys, sysconfig

spec = json.load(open(sys.argv[1]))

from datadog_checks.base import AgentCheck
from datadog_checks.base.stubs import aggregator, datadog_agent

missing = sorted(name for name in spec['imports'] if importlib.util.find_spec(name) is None)
missing_optional = sorted(name for name in spec['optional'] if importlib.util.find_spec(name) is None)

tried, module, cls = [], None, None
for name in (f"datadog_checks.{spec['check']}", spec['check']):
    try:
        candidate = importlib.import_module(name)
    except ImportError as e:
        tried.append(f'{name}: {type(e).__name__}: {e}')
        continue
    for attr in dir(candidate):  # dir() is sorted, as the Agent walks it
        obj = getattr(candidate, attr)
        if isinstance(obj, type) and issubclass(obj, AgentCheck) and obj is not AgentCheck and not obj.__subclasses__():
            module, cls = candidate, obj
            break
    if cls is not None:
        break
    tried.append(f'{name}: imported, no AgentCheck subclass without subclasses')

result = {'missing_imports': missing, 'missing_optional': missing_optional, 'tried': tried}
if cls is not None:
    result.update(module=module.__name__, module_file=module.__file__, cls=cls.__name__,
                  version=getattr(module, '__version__', None))
    runs = []
    for _ in range(2):
        aggregator.reset()
        check = cls(spec['check'], spec['init_config'], instances=[spec['instance']])
        check.check_id = f"{spec['check']}:wheel-check"
        error = check.run()
        runs.append({
            'error': error,
            'events': [{'title': e['msg_title'], 'tags': e.get('tags', []), 'alert_type': e.get('alert_type'),
                        'source_type_name': e.get('source_type_name')} for e in aggregator.events],
            'service_checks': [{'name': s.name, 'status': s.status, 'tags': s.tags, 'message': s.message}
                               for name in aggregator._service_checks for s in aggregator.service_checks(name)],
            'metrics': sorted(aggregator._metrics),
        })
    result['runs'] = runs

paths = sysconfig.get_paths()
roots = {'stdlib': [paths['stdlib'], paths['platstdlib']], 'site': [paths['purelib'], paths['platlib']]}
loaded = {}
for name, mod in list(sys.modules.items()):
    if name in ('__main__', '__mp_main__'):  # this script
        continue
    origin = getattr(mod, '__file__', None)
    if origin is None:
        kind = 'builtin'
    elif any(origin.startswith(p) for p in roots['site']):
        kind = 'site'
    elif any(origin.startswith(p) for p in roots['stdlib']):
        kind = 'stdlib'
    else:
        kind = 'foreign'
    loaded[name] = {'kind': kind, 'file': origin}
result['loaded'] = loaded
print(json.dumps(result))
'''


def fail(message):
    print(f'check_wheel.py: FAILED: {message}', file=sys.stderr)
    sys.exit(1)


def step(message):
    print(f'--- {message}', flush=True)


def check_install_rules(wheel):
    """What `datadog-agent integration install -w` reads from the wheel, before and after pip installs it."""
    if not zipfile.is_zipfile(wheel):
        fail(f'{wheel} is not a wheel (zip) file')
    match = re.fullmatch(r'(?P<dist>[^-]+)-(?P<version>[^-]+)-(?P<tags>.+)\.whl', wheel.name)
    if not match or not match['tags'].endswith('-none-any'):
        fail(f'{wheel.name}: not a pure-Python wheel (`<name>-<version>-py3-none-any.whl`)')
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_files = [n for n in names if n.endswith('METADATA')]
        if not metadata_files:
            fail('no METADATA file in the wheel')
        # The Agent scans the METADATA files in archive order; the first `Name:` line names the package.
        lines = archive.read(metadata_files[0]).decode('utf-8').splitlines()
        metadata = Parser().parsestr(archive.read(metadata_files[0]).decode('utf-8'), headersonly=True)
    if not any('Requires-Dist: datadog-checks-base' in line for line in lines):
        fail('METADATA has no `Requires-Dist: datadog-checks-base`: the Agent refuses it as "not an agent check"')
    name_line = next((m for m in map(WHEEL_NAME_LINE.search, lines) if m), None)
    if name_line is None:
        fail('METADATA has no `Name:` line')
    package = name_line.group(1).strip().replace('_', '-')
    if not package.startswith('datadog-'):
        fail(f'package {package!r}: the Agent maps `datadog-<check>` to conf.d/<check>.d/')
    check = package.removeprefix('datadog-').replace('-', '_')
    if not AGENT_VERSION.match(metadata['Version']):
        fail(f'version {metadata["Version"]!r} is not of a form the Agent parses (1.2.3, 1.2.3b1, ...)')
    requirements = {
        re.split(r'[\s;<>=!~\[(]', r, maxsplit=1)[0].lower().replace('_', '-')
        for r in metadata.get_all('Requires-Dist') or []
        if 'extra ==' not in r
    }
    if requirements - ALLOWED_REQUIREMENTS:
        fail(f'runtime requirements beyond what the Agent ships: {sorted(requirements - ALLOWED_REQUIREMENTS)}')
    data = [n for n in names if n.startswith(f'datadog_checks/{check}/data/')]
    if not any(YAML_FILE.match(n.rsplit('/', 1)[1]) for n in data):
        fail(f'no datadog_checks/{check}/data/*.yaml* in the wheel: the Agent installs it, then fails to copy its '
             f'configuration files to conf.d/{check}.d/')
    for shadow in ('datadog_checks/__init__.py', f'datadog_checks/{check}/__init__.py'):
        if shadow in names:
            fail(f'the wheel ships {shadow}, which would replace or shadow the Agent\'s own')
    sources = {n: archive_text for n, archive_text in _python_sources(wheel) if n.startswith(f'{check}/')}
    if f'{check}/__init__.py' not in sources:
        fail(f'no {check}/__init__.py in the wheel')
    print(f'package {package}, version {metadata["Version"]}, check `{check}` -> conf.d/{check}.d/, '
          f'config files: {", ".join(n.rsplit("/", 1)[1] for n in data)}, requires {sorted(requirements)}')
    return check, sources


def _python_sources(wheel):
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith('.py'):
                yield name, archive.read(name).decode('utf-8')


def imported_modules(sources, check):
    """Top-level names of the absolute imports in the wheel's code: (required, optional).

    An import is optional when it sits in a `try:` whose handlers catch ImportError (the code has a fallback),
    like `import datadog_agent`, the Agent's embedded module, with the stubs of datadog-checks-base as fallback.
    """
    required, optional = set(), set()

    def visit(node, guarded):
        if isinstance(node, ast.Try):
            catches = {
                n.id if isinstance(n, ast.Name) else getattr(n, 'attr', '')
                for handler in node.handlers
                for n in ([handler.type] if not isinstance(handler.type, ast.Tuple) else handler.type.elts)
                if handler.type is not None
            }
            inner = guarded or bool(catches & {'ImportError', 'ModuleNotFoundError'})
            for child in node.body:
                visit(child, inner)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, guarded)
            return
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name.split('.')[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split('.')[0]]
        (optional if guarded else required).update(names)
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    for path, text in sources.items():
        visit(ast.parse(text, path), False)
    required -= {check, '__future__'}
    return sorted(required), sorted(optional - required - {check})


def base_python():
    """The Python 3.13 the development virtualenv was made from (the clean one is made from it too)."""
    candidate = getattr(sys, '_base_executable', None) or shutil.which('python3.13')
    if not candidate or sys.version_info[:2] != (3, 13):
        fail('run this with Python 3.13 (.venv/bin/python), the Agent\'s Python')
    return candidate


def run(command, **kwargs):
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    if result.returncode != 0:
        fail(f'{" ".join(map(str, command))} exited with {result.returncode}:\n{result.stdout}')
    return result.stdout


def make_agent_venv(workdir, wheel):
    venv = workdir / 'agent-python'
    run([base_python(), '-m', 'venv', str(venv)])
    python = venv / 'bin' / 'python'
    run([python, '-m', 'pip', 'install', '--quiet', *AGENT_SHIPPED])
    shipped = run([python, '-m', 'pip', 'freeze', '--all']).split()
    # As `datadog-agent integration install -w` does it (it also passes the Agent's --constraint file).
    run([python, '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-index', '--no-cache-dir', str(wheel)])
    run([python, '-m', 'pip', 'check'])
    site = Path(run([python, '-c', 'import site; print(site.getsitepackages()[0])']).strip())
    return python, site, shipped


def copy_configuration_files(site, check, confd):
    """What the installer does after pip: `<site-packages>/datadog_checks/<check>/data/*.yaml*` -> conf.d/<check>.d/."""
    source = site / 'datadog_checks' / check / 'data'
    if not source.is_dir():
        fail(f'{source} does not exist after installing the wheel: the Agent\'s installer would fail here')
    target = confd / f'{check}.d'
    target.mkdir(parents=True)
    copied = [f.name for f in source.iterdir() if YAML_FILE.match(f.name)]
    for name in copied:
        shutil.copy2(source / name, target / name)
    if 'conf.yaml.example' not in copied:
        fail(f'conf.yaml.example is not among the configuration files the Agent would copy: {copied}')
    return target / 'conf.yaml.example'


def seed(url):
    """A trail and three fresh log objects; returns the number of records (all of them become events)."""
    trail = create_trail(url, TRAIL, BUCKET)
    now = datetime.now(timezone.utc)
    written = put_objects(
        client('s3', url),
        BUCKET,
        trail.prefix,
        trail.account,
        'us-east-1',
        [now - timedelta(minutes=m) for m in (30, 20, 10)],
        8,
        random.Random(6),
        include_read_only_share=0,  # read-only calls are filtered out of events by default
    )
    return sum(len(records) for _, records in written)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('wheel', type=Path)
    parser.add_argument('--keep', action='store_true', help='keep the work directory and print its path')
    args = parser.parse_args(argv)
    started = time.monotonic()

    step(f'install rules of `datadog-agent integration install -w` ({args.wheel.name})')
    check, sources = check_install_rules(args.wheel)
    imports, optional = imported_modules(sources, check)

    workdir = Path(tempfile.mkdtemp(prefix='check-wheel-'))
    try:
        step(f'clean Python 3.13 with only what the Agent ships: {" ".join(AGENT_SHIPPED)}')
        python, site, shipped = make_agent_venv(workdir, args.wheel.resolve())
        print(f'{len(shipped)} distributions; the wheel installed with --no-deps --no-index; pip check is clean')
        example = copy_configuration_files(site, check, workdir / 'conf.d')
        print(f'conf.d/{check}.d/conf.yaml.example copied from <site-packages>/datadog_checks/{check}/data/')

        config = yaml.safe_load(example.read_text(encoding='utf-8'))
        instance = dict((config.get('instances') or [{}])[0] or {})
        init_config = config.get('init_config') or {}

        step('the Agent\'s loader and one run against a moto server')
        with MotoServer() as server:
            records = seed(server.url)
            instance.update(endpoint_url=server.url, aws_region='us-east-1', aws_access_key_id='testing',
                            aws_secret_access_key='testing')
            spec = workdir / 'spec.json'
            spec.write_text(json.dumps({'check': check, 'init_config': init_config, 'instance': instance,
                                        'imports': [n for n in imports if n not in AGENT_BUILTINS],
                                        'optional': [n for n in optional if n not in AGENT_BUILTINS]}))
            runner = workdir / 'runner.py'
            runner.write_text(RUNNER)
            empty = workdir / 'cwd'
            empty.mkdir()
            env = {k: v for k, v in os.environ.items() if not k.startswith(('PYTHON', 'AWS_'))}
            output = run([python, '-I', str(runner), str(spec)], cwd=empty, env=env)
        result = json.loads(output.strip().splitlines()[-1])
    finally:
        if args.keep:
            print(f'work directory kept: {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    if result['missing_imports']:
        fail(f'the wheel imports modules the Agent does not ship: {result["missing_imports"]}')
    print(f'all {len(imports)} modules the code imports are there: {", ".join(imports)}')
    if optional:
        absent = result['missing_optional']
        print(f'imported with a fallback when absent: {", ".join(optional)}'
              + (f' (absent here: {", ".join(absent)})' if absent else ''))
    for line in result['tried']:
        print(f'loader: {line}')
    if 'cls' not in result:
        fail('the loader found no check class')
    print(f'loader: {result["module"]}.{result["cls"]} (version {result["version"]}) from {result["module_file"]}')
    if not result['module_file'].startswith(str(site)):
        fail(f'the check was not loaded from the installed wheel: {result["module_file"]}')

    first, second = result['runs']
    if first['error']:
        fail(f'the check failed: {first["error"]}')
    events = first['events']
    if len(events) != records:
        fail(f'expected {records} events, got {len(events)}')
    print(f'run 1: {len(events)} events for {records} records, e.g. {events[0]["title"]!r}')
    if not all(e['source_type_name'] == 'cloudtrail' and 'cloudtrail' in e['tags'] for e in events):
        fail('events without source_type_name cloudtrail and the #cloudtrail tag')
    statuses = {(s['name'], tuple(s['tags']), s['status']) for s in first['service_checks']}
    print(f'run 1: service checks {sorted(statuses)}; metrics {", ".join(first["metrics"])}')
    if not statuses or any(status != 0 for *_, status in statuses):
        fail(f'the service check is not OK: {first["service_checks"]}')
    if second['error'] or second['events']:
        fail(f'run 2 should find nothing new: error {second["error"]!r}, {len(second["events"])} events')
    print('run 2: no new events (the cursor held)')

    foreign = {name: m['file'] for name, m in result['loaded'].items() if m['kind'] == 'foreign'}
    if foreign:
        fail(f'modules loaded from outside the clean virtualenv: {foreign}')
    site_modules = sorted({name.split('.')[0] for name, m in result['loaded'].items() if m['kind'] == 'site'})
    print(f'{len(result["loaded"])} modules loaded, all from the clean virtualenv; third-party top-level packages: '
          f'{", ".join(site_modules)}')
    print(f'check_wheel.py: the wheel installs, loads and runs as in the Agent ({time.monotonic() - started:.0f}s).')
    return 0


if __name__ == '__main__':
    sys.exit(main())
