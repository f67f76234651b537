"""What runs cost in requests, and that concurrent reads keep every record once. Nothing here is timed: the
figures are `make bench`'s (devtools/bench.py)."""

import random
from collections import Counter

import pytest

from cloudtrail import CloudtrailCheck
from devtools.bench import classify
from devtools.proxy import FaultProxy
from tests.conftest import event_ids

ACCOUNTS = ('111111111111', '222222222222')
REGIONS = ('us-east-1', 'eu-west-1')


@pytest.fixture
def check_object(aggregator, datadog_agent):
    """A check object kept across runs, as the Agent keeps it between two collection intervals."""

    def make(instance):
        check = CloudtrailCheck('cloudtrail', {}, [instance])
        check.check_id = 'cloudtrail:cost'
        return check

    return make


def run(check, aggregator):
    aggregator.reset()
    error = check.run()
    assert not error, error
    return list(aggregator.events)


def requests_of(proxy, since):
    return Counter(classify(method, path) for method, path in proxy.requests[since:])


def test_an_idle_run_makes_no_get_and_one_list_per_folder(aws, check_object, aggregator):
    trail = aws.trail(organization=True, prefix='org')
    # Three days of history in every (account, region) folder, and a little that is new for the first run.
    for account in ACCOUNTS:
        for region in REGIONS:
            for minutes_ago in (*range(3 * 24 * 60, 60, -6 * 60), 30, 10):
                aws.deliver(trail, minutes_ago=minutes_ago, region=region, account=account)
    folders = len(ACCOUNTS) * len(REGIONS)

    with FaultProxy(aws.url) as proxy:
        check = check_object(aws.instance(endpoint_url=proxy.url, workers=4))
        first = run(check, aggregator)
        assert len(first) == folders * 2 * 5  # the two recent objects of each folder, 5 records each

        idle_from = len(proxy.requests)
        assert run(check, aggregator) == []
        idle = requests_of(proxy, idle_from)

    # No object read, one listing per folder, and discovery (CloudTrail, Organizations, GetBucketLocation and the
    # folder listings) is not repeated within `discovery_interval`.
    assert idle == {'LIST': folders}, idle


def test_a_backlog_read_by_many_workers_over_budgeted_runs_reaches_datadog_once(aws, check_object, aggregator):
    """Eight readers, runs cut short by the event budget, late and new objects arriving between runs: every record
    once, none lost, none twice."""
    rng = random.Random(3)
    trail = aws.trail()
    delivered = []

    def deliver(minutes_ago):
        region = rng.choice(REGIONS)
        when = aws.now.replace(second=0, microsecond=0)
        records = aws.records(when, rng.randint(1, 6), region=region, read_only=False)
        delivered.extend(aws.deliver(trail, minutes_ago, records, region=region)[1])

    for minutes_ago in range(50, 2, -1):
        deliver(minutes_ago)
    check = check_object(aws.instance(workers=8, max_events_per_run=25))
    received, runs = [], 0
    while True:
        events = run(check, aggregator)
        runs += 1
        received += event_ids(events)
        if runs <= 3:
            deliver(rng.randint(3, 40))  # late, inside the late-arrival window
            deliver(1)  # new
        elif not events:
            break
        assert runs < 30

    assert runs > 3  # the budget did cut the runs short
    assert len(received) == len(set(received))
    assert sorted(received) == sorted(r['eventID'] for r in delivered)
