"""Dry run: `python -m cloudtrail --config conf.yaml` runs the check once per instance, outside the Agent.

It prints the events the check would submit, so that credentials, trails and filters can be tried before the
check is installed. datadog-checks-base's stubs stand in for the Agent. With `--state DIR` the cursors are kept
in DIR, one file per key like the Agent's persistent cache, so a second run shows only what is new.
"""

import argparse
import json
import os
import re
import sys
from datetime import datetime, timezone

import yaml

from datadog_checks.base.stubs import aggregator, datadog_agent

from . import CloudtrailCheck


class FileCache:
    """The Agent's persistent cache, as the Agent keeps it: one file per key, the key stripped to [A-Za-z0-9_-]."""

    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    def _path(self, key):
        return os.path.join(self.directory, re.sub(r'[^A-Za-z0-9_-]', '', key))

    def read(self, key):
        try:
            # A damaged file may hold anything: undecodable bytes reach the check as garbage text, which it rejects.
            with open(self._path(key), encoding='utf-8', errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def write(self, key, value):
        # Written aside then renamed, so that a dry run killed mid-write leaves the previous value whole.
        path = self._path(key)
        with open(path + '.tmp', 'w', encoding='utf-8') as f:
            f.write(value)
        os.replace(path + '.tmp', path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m cloudtrail', description=__doc__.splitlines()[0])
    parser.add_argument('--config', required=True, help='a conf.yaml with init_config and instances')
    parser.add_argument('--json', action='store_true', help='print events as JSON lines')
    parser.add_argument('--state', metavar='DIR', help='keep cursors in DIR between runs')
    parser.add_argument('--limit', type=int, metavar='N', help='print only the N most recent events')
    parser.add_argument('--stream', action='store_true',
                        help='print each event (and log) as a JSON line the moment the check submits it, unsorted; '
                             'what is printed survives the process being killed')
    args = parser.parse_args(argv)

    with open(args.config, encoding='utf-8') as f:
        conf = yaml.safe_load(f) or {}
    if args.state:
        cache = FileCache(args.state)
        datadog_agent.read_persistent_cache = cache.read
        datadog_agent.write_persistent_cache = cache.write

    failed = False
    for number, instance in enumerate(conf.get('instances') or [], 1):
        aggregator.reset()
        check = CloudtrailCheck('cloudtrail', conf.get('init_config') or {}, [instance])
        check.check_id = f'cloudtrail:instance{number}'
        if args.stream:
            _print_as_submitted(check)
        error = check.run()
        if error:
            failed = True
            print(f'instance {number}: the check failed: {json.loads(error)[0]["message"]}', file=sys.stderr)
        for status in aggregator.service_checks('cloudtrail.can_connect'):
            if status.status != CloudtrailCheck.OK:
                failed = True
                print(f'instance {number}: {status.message}', file=sys.stderr)
        shipped = datadog_agent._sent_logs.pop(check.check_id, [])
        if args.stream:
            continue
        print_events(aggregator.events, as_json=args.json, limit=args.limit)
        if args.json:
            for log in shipped:
                print(json.dumps({'log': log}, sort_keys=True))
        elif shipped:
            print(f'{len(shipped)} logs (send_logs)')
    return 1 if failed else 0


def _print_as_submitted(check):
    """Print each event and log when the check submits it, before its object's cursor is saved."""
    submit_event, send_log = check.event, check.send_log

    def event(data):
        submit_event(data)
        print(json.dumps(data, sort_keys=True), flush=True)

    def log(data, *args, **kwargs):
        send_log(data, *args, **kwargs)
        print(json.dumps({'log': data}, sort_keys=True), flush=True)

    check.event, check.send_log = event, log


def print_events(events, as_json=False, limit=None):
    events = sorted(events, key=lambda e: e['timestamp'])
    shown = events[-limit:] if limit else events
    if as_json:
        for event in shown:
            print(json.dumps(event, sort_keys=True))
        return
    if not events:
        print('0 events: nothing new to submit')
        return
    rows = [(
        datetime.fromtimestamp(e['timestamp'], timezone.utc).strftime('%Y-%m-%d %H:%M:%S'),
        e['priority'],
        e['alert_type'],
        next((t.split(':', 1)[1] for t in e['tags'] if t.startswith('region:')), ''),
        e['msg_title'],
    ) for e in shown]
    header = ('time (UTC)', 'priority', 'alert', 'region', 'title')
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print('  '.join(cell.ljust(width) for cell, width in zip(row, widths)), row[-1])
    if len(shown) < len(events):
        print(f'... and {len(events) - len(shown)} earlier events')
    by = {}
    for e in events:
        by[e['priority']] = by.get(e['priority'], 0) + 1
        if e['alert_type'] != 'info':
            by[e['alert_type']] = by.get(e['alert_type'], 0) + 1
    details = ', '.join(f'{count} {name}' for name, count in sorted(by.items()))
    print(f'{len(events)} events' + (f' ({details})' if details else ''))


if __name__ == '__main__':
    sys.exit(main())
