"""`make demo`: a local AWS emulator seeded with a day of a trail's logs, and the check's dry run against it.

Runs the same command a user runs to try a configuration (`python -m cloudtrail --config ...`), twice: the
first run reads the last hour, the second finds nothing new because the cursor was kept.
"""

import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import yaml

from devtools.emulator import MotoServer
from devtools.seed import seed_day


def main():
    started = time.monotonic()
    with MotoServer() as server, tempfile.TemporaryDirectory(prefix='cloudtrail-demo-') as workdir:
        print(f'AWS emulator (moto server) listening on {server.url}')
        day = seed_day(server.url, recent_every=timedelta(minutes=5))
        print(f'Seeded trail {day.trail.name!r}: {len(day.logs)} log objects ({len(day.records())} records) over '
              f'24 hours in s3://{day.trail.bucket}/{day.trail.prefix}/, plus digests and an Insight.\n')

        config = os.path.join(workdir, 'conf.yaml')
        instance = {
            'endpoint_url': server.url,
            'aws_region': 'us-east-1',
            'aws_access_key_id': 'demo',
            'aws_secret_access_key': 'demo',
            'tags': ['team:demo'],
        }
        with open(config, 'w') as f:
            yaml.safe_dump({'init_config': {}, 'instances': [instance]}, f)
        command = [sys.executable, '-m', 'cloudtrail', '--config', config, '--state', os.path.join(workdir, 'state')]

        print('$ python -m cloudtrail --config conf.yaml --limit 15   # first run: the last hour')
        first = subprocess.run([*command, '--limit', '15'])
        print('\n$ python -m cloudtrail --config conf.yaml   # second run: nothing new since the first')
        second = subprocess.run(command)
    print(f'\nDemo done in {time.monotonic() - started:.1f}s.')
    return first.returncode or second.returncode


if __name__ == '__main__':
    sys.exit(main())
