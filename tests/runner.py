"""A check runner in its own process, for the multi-process tests: `python tests/runner.py CONF STATE RUNS PAUSE`.

Runs one check object RUNS times, PAUSE seconds apart, as an Agent's runner does, with its persistent cache in
the directory STATE (one file per key, like the Agent's). Prints the CloudTrail eventID of each event as it is
submitted, flushed at once, so that what a SIGKILL interrupts has been printed or was never submitted.
"""

import re
import sys
import time

import yaml

from cloudtrail import CloudtrailCheck
from cloudtrail.__main__ import FileCache
from datadog_checks.base.stubs import aggregator, datadog_agent

EVENT_ID = re.compile(r'^Event ID: (\S+)$', re.M)


def main(conf_path, state, runs, pause):
    cache = FileCache(state)
    datadog_agent.read_persistent_cache = cache.read
    datadog_agent.write_persistent_cache = cache.write

    def submit_event(check, check_id, event):
        print(EVENT_ID.search(event['msg_text']).group(1), flush=True)

    aggregator.submit_event = submit_event
    with open(conf_path) as f:
        conf = yaml.safe_load(f)
    check = CloudtrailCheck('cloudtrail', conf.get('init_config') or {}, conf['instances'])
    check.check_id = 'cloudtrail:runner'
    for run in range(int(runs)):
        if run:
            time.sleep(float(pause))
        error = check.run()
        if error:
            print(f'run failed: {error}', file=sys.stderr, flush=True)
        print(f'# run {run} done', flush=True)


if __name__ == '__main__':
    main(*sys.argv[1:])
