"""The Agent check: for each log source, list new objects -> read -> render -> submit -> save the cursor."""

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from datadog_checks.base import AgentCheck

try:
    import datadog_agent  # the Agent's embedded module
except ImportError:
    from datadog_checks.base.stubs import datadog_agent

from . import logs, render
from .aws import AwsClients
from .config_models import ConfigMixin
from .layout import delivery_stamp, key_time
from .objects import CorruptObject, list_keys, read_records
from .problems import Problem, explain
from .sources import discover_trails, in_partition, log_folders, static_source
from .stores import AgentStore, CursorConflict, Lease, S3Store
from .workers import DONE, Stopped, run_jobs

EVENT, LOG = 'event', 'log'

# Keep a margin under the intake's 18-hour limit for the time an event spends in the Agent before it is sent.
OLDEST_EVENT = render.MAX_EVENT_AGE - 15 * 60


@dataclass
class Job:
    """One object to read, and what reading it found (filled in by the reader thread)."""

    source: object
    folder: object
    tail: str
    records: int = 0
    filtered: int = 0
    logs_filtered: int = 0
    too_old: int = 0

    @property
    def key(self):
        return self.folder.prefix + self.tail


@dataclass
class Progress:
    """What one source did in one run, for metrics and the log."""

    objects: int = 0
    records: int = 0
    events: int = 0
    logs: int = 0
    logs_truncated: int = 0
    filtered: int = 0
    logs_filtered: int = 0
    too_old: int = 0
    corrupt: int = 0
    newest: float = 0.0
    problem: Exception | None = None
    pending: dict = field(default_factory=dict)  # folder -> tails listed but not done


class CloudtrailCheck(AgentCheck, ConfigMixin):
    __NAMESPACE__ = 'cloudtrail'
    SERVICE_CHECK = 'can_connect'

    def __init__(self, name, init_config, instances):
        super().__init__(name, init_config, instances)
        self._aws = None
        self._sources = []  # [(LogSource, [LogFolder])]
        self._discovery_problems = {}  # trail name -> Problem
        self._next_discovery = 0.0
        self.check_initializations.append(self._set_up)

    def load_configuration_models(self, package_path=None):
        # The package is top-level `cloudtrail`, not `datadog_checks.cloudtrail` as the base class assumes.
        super().load_configuration_models(package_path or 'cloudtrail.config_models')

    def persistent_cache_id(self):
        # Cursors are keyed by each trail's identity, so they must not change when an unrelated option is edited.
        return 'cloudtrail'

    def _set_up(self):
        cfg = self.config
        self._aws = AwsClients(cfg, pool_size=cfg.workers)
        self._lease = None
        if cfg.cursor_store == 's3':
            s3 = self._aws.client('s3')
            prefix = cfg.cursor_prefix or ''
            self._cursors = S3Store(s3, cfg.cursor_bucket, prefix, self.log)
            self._lease = Lease(s3, cfg.cursor_bucket, f'{prefix}{self._lease_name()}.json', self._runner_id(),
                                cfg.lease_seconds)
        else:
            self._cursors = AgentStore(self.read_persistent_cache, self.write_persistent_cache, self.log)
        self._normal_services = frozenset(s.removesuffix('.amazonaws.com') for s in cfg.normal_priority_services)
        self._logs_excluded_sources = frozenset(
            s if s.endswith('.amazonaws.com') else f'{s}.amazonaws.com' for s in cfg.logs_exclude_event_sources or ()
        )
        self._logs_excluded_names = frozenset(cfg.logs_exclude_event_names or ())
        self._logs_service = cfg.service or 'cloudtrail'
        self._base_tags = ['cloudtrail', *(cfg.tags or ())]

    def _lease_name(self):
        """The same for every runner of this instance, different for each instance (partition) of a trail."""
        cfg = self.config
        what = [cfg.aws_region, cfg.bucket, cfg.prefix, sorted(cfg.trails or ()), sorted(cfg.accounts or ()),
                sorted(cfg.regions or ()), cfg.partition and [cfg.partition.index, cfg.partition.count]]
        return 'lease_' + hashlib.sha256(json.dumps(what).encode()).hexdigest()[:40]

    def _runner_id(self):
        """Who holds the lease: stable across restarts of this Agent (kept in its cache), unique to it."""
        runner = self.read_persistent_cache('runner_id')
        if not runner:
            runner = f'{datadog_agent.get_hostname() or "agent"}/{uuid.uuid4().hex[:12]}'
            self.write_persistent_cache('runner_id', runner)
        return runner

    # --- one run -------------------------------------------------------------------------------------------

    def check(self, _):
        cfg = self.config
        now = time.time()
        if self._lease:
            holder = self._lease.acquire(now)
            if holder:
                self.log.info('Another runner reads this instance (lease held by %s): nothing to do here.', holder)
                return
        self._stopped = set()  # sources that failed this run: their remaining objects wait for the next run
        self._lost = set()  # (source, folder prefix) whose cursor another runner advanced during this run
        self._discover()
        deadline = time.monotonic() + cfg.max_run_seconds
        progress = {source.identity: Progress() for source, _ in self._sources}
        jobs = self._list_new_objects(now, progress)
        submitted = 0

        def keep_going():
            return time.monotonic() < deadline and submitted < cfg.max_events_per_run

        for kind, job, value in run_jobs(jobs, lambda job: self._output(job, now), cfg.workers, keep_going):
            state = progress[job.source.identity]
            if kind == DONE:
                self._finish(job, value, state)
            elif value[0] == EVENT:
                self.event(value[1])
                submitted += 1
                state.events += 1
            else:
                _, data, truncated = value
                self.send_log(data)
                submitted += 1
                state.logs += 1
                state.logs_truncated += truncated

        for source, _ in self._sources:
            self._report(source, progress[source.identity], now)
        for name, problem in self._discovery_problems.items():
            self._service_check(name, AgentCheck.CRITICAL, str(problem))

    def _discover(self):
        """Refresh the trails and their folders every `discovery_interval` seconds, not on every run."""
        if time.monotonic() < self._next_discovery:
            return
        cfg = self.config
        if cfg.bucket:
            sources, problems = [], {}
            name = cfg.trail_name or cfg.bucket
            try:
                sources = [static_source(self._aws, cfg.bucket, cfg.prefix, name)]
            except Exception as e:
                problems[name] = Problem(explain(e, f'bucket {cfg.bucket}'))
        else:
            try:
                sources, problems = discover_trails(self._aws, cfg.trails)
            except Problem as e:
                self._service_check(None, AgentCheck.CRITICAL, str(e))
                if self._sources:
                    self.log.warning('%s; reading the trails found before', e)
                    return
                raise
        found, seen_locations = [], {}
        for source in sources:
            location = (source.bucket, source.key_prefix, source.org_id or source.account)
            if location in seen_locations:
                self.log.info('trail %s delivers to the same place as %s: read once', source.name,
                              seen_locations[location])
                continue
            seen_locations[location] = source.name
            try:
                folders = log_folders(self._aws.client('s3', source.bucket_region), source)
                found.append((source, [f for f in folders if self._mine(source, f)]))
            except Exception as e:
                problems[source.name] = Problem(explain(e, f'trail {source.name} (bucket {source.bucket})'))
        self._sources, self._discovery_problems = found, problems
        self._next_discovery = time.monotonic() + cfg.discovery_interval
        if not found and not problems:
            self.log.warning('No active trail found: nothing to read. Check `trails` and that the trails are logging.')

    def _mine(self, source, folder):
        """Whether this instance reads `folder`: the accounts, regions and partition options."""
        cfg = self.config
        if cfg.accounts and folder.account not in cfg.accounts:
            return False
        if cfg.regions and folder.region not in cfg.regions:
            return False
        return not cfg.partition or in_partition(source, folder, cfg.partition.index, cfg.partition.count)

    def _list_new_objects(self, now, progress):
        """The objects to read this run, oldest first across every folder, so no folder starves the others."""
        cfg = self.config
        jobs = []
        self._open = {}  # (source identity, folder prefix) -> cursor
        for source, folders in self._sources:
            s3 = self._aws.client('s3', source.bucket_region)
            state = progress[source.identity]
            try:
                for folder in folders:
                    cursor = self._cursors.load(source.identity, folder.prefix, now, cfg.initial_lookback)
                    keys = list_keys(s3, source.bucket, folder.prefix, folder.prefix + cursor.after)
                    new, too_old = cursor.select([k[len(folder.prefix):] for k in keys])
                    self._open[(source.identity, folder.prefix)] = cursor
                    state.pending[folder] = set(new)
                    if too_old:
                        cursor.advance(state.pending[folder], cfg.late_arrival_window)
                        self._save(source, folder, cursor)
                    if (source.identity, folder.prefix) not in self._lost:
                        jobs += [Job(source, folder, tail) for tail in new]
            except Exception as e:
                state.problem = Problem(explain(e, f'trail {source.name} (listing s3://{source.bucket})'))
                self._stopped.add(source.identity)
                jobs = [job for job in jobs if job.source is not source]
        return sorted(jobs, key=lambda job: (delivery_stamp(job.tail), job.key))

    def _output(self, job, now):
        """Runs in a reader thread: one object's records -> (EVENT, event) and (LOG, log, truncated) to submit."""
        if job.source.identity in self._stopped or (job.source.identity, job.folder.prefix) in self._lost:
            raise Stopped()
        cfg = self.config
        oldest = now - OLDEST_EVENT
        delivered = key_time(job.key)
        fallback = int(delivered.timestamp()) if delivered else int(now)
        source_tags = [*self._base_tags, f'trail:{job.source.name}', f'aws_account:{job.folder.account}']
        bucket, key = job.source.bucket, job.key
        s3 = self._aws.client('s3', job.source.bucket_region)
        for record in read_records(s3, bucket, key):
            job.records += 1
            # The cheap filters first: most records are read-only calls that become nothing.
            wants_event = cfg.send_events and (cfg.include_read_only or not render.is_read_only(record))
            wants_log = cfg.send_logs and self._wants_log(record)
            job.filtered += cfg.send_events and not wants_event
            job.logs_filtered += cfg.send_logs and not wants_log
            if not (wants_event or wants_log):
                continue
            timestamp = render.event_time(record) or fallback
            if timestamp < oldest:
                job.too_old += 1
                continue
            service = render.service_of(record)
            tags = render.tags(record, service, source_tags)  # the same for the event and the log
            if wants_event:
                priority = 'normal' if service in self._normal_services else cfg.default_priority
                yield EVENT, render.event(record, service=service, priority=priority, timestamp=timestamp,
                                          tags=tags, bucket=bucket, key=key)
            if wants_log:
                yield LOG, *logs.log(record, timestamp=timestamp, tags=tags, bucket=bucket, key=key,
                                     service=self._logs_service, host=cfg.logs_host)

    def _wants_log(self, record):
        if not self.config.logs_include_read_only and render.is_read_only(record):
            return False
        return (record.get('eventSource') not in self._logs_excluded_sources
                and record.get('eventName') not in self._logs_excluded_names)

    def _finish(self, job, error, state):
        """An object is finished: count it and, unless it must be read again, move its folder's cursor."""
        source = job.source
        if isinstance(error, Stopped):
            return
        if isinstance(error, CorruptObject):
            state.corrupt += 1
            self.log.warning('Skipping s3://%s/%s of trail %s: %s (the %d records before the damage were '
                             'processed). It will not be read again.', source.bucket, job.key, source.name, error,
                             job.records)
        elif isinstance(error, ClientError) and error.response.get('Error', {}).get('Code') in ('NoSuchKey', '404'):
            self.log.debug('s3://%s/%s was listed but is gone: skipped', source.bucket, job.key)
        elif error is not None:
            # Denied, throttled past the retries, unreachable: the object stays pending and is read next run.
            where = f'trail {source.name} (s3://{source.bucket}/{job.key})'
            state.problem = state.problem or Problem(explain(error, where))
            self._stopped.add(source.identity)
            return
        else:
            state.objects += 1
            delivered = key_time(job.key)
            state.newest = max(state.newest, delivered.timestamp() if delivered else 0)
        state.records += job.records
        state.filtered += job.filtered
        state.logs_filtered += job.logs_filtered
        state.too_old += job.too_old
        cursor = self._open[(source.identity, job.folder.prefix)]
        pending = state.pending[job.folder]
        pending.discard(job.tail)
        cursor.mark_done(job.tail)
        cursor.advance(pending, self.config.late_arrival_window)
        self._save(source, job.folder, cursor)

    def _save(self, source, folder, cursor):
        try:
            self._cursors.save(source.identity, folder.prefix, cursor)
        except CursorConflict as e:
            # Another runner has this folder now: leave it to them, read nothing more of it in this run.
            self._lost.add((source.identity, folder.prefix))
            self.log.warning('%s: leaving %s to it for this run.', e, folder.prefix)

    # --- telling the operator ------------------------------------------------------------------------------

    def _report(self, source, state, now):
        tags = [*self._base_tags, f'trail:{source.name}']
        left = sum(len(p) for p in state.pending.values())
        self.count('objects.read', state.objects, tags=tags)
        self.count('records.read', state.records, tags=tags)
        self.count('events.submitted', state.events, tags=tags)
        self.count('records.filtered', state.filtered, tags=tags)
        self.count('events.too_old', state.too_old, tags=tags)
        if self.config.send_logs:
            self.count('logs.submitted', state.logs, tags=tags)
            self.count('logs.filtered', state.logs_filtered, tags=tags)
            self.count('logs.truncated', state.logs_truncated, tags=tags)
        self.count('objects.corrupt', state.corrupt, tags=tags)
        self.gauge('objects.backlog', left, tags=tags)
        if state.newest:
            self.gauge('lag', now - state.newest, tags=tags)
        if state.too_old:
            self.log.warning('Trail %s: %d records older than %d hours were not sent (the events and logs intakes '
                             'reject them).', source.name, state.too_old, render.MAX_EVENT_AGE // 3600)
        if left and not state.problem:
            self.log.info('Trail %s: %d objects left for the next run (run time or event budget reached).',
                          source.name, left)
        if state.problem:
            self.log.warning('%s', state.problem)
            self._service_check(source.name, AgentCheck.CRITICAL, str(state.problem))
        else:
            self._service_check(source.name, AgentCheck.OK)

    def _service_check(self, trail, status, message=None):
        tags = self._base_tags + ([f'trail:{trail}'] if trail else [])
        self.service_check(self.SERVICE_CHECK, status, tags=tags, message=message)
