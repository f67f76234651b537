"""A moto server in its own process: a real HTTP endpoint for S3, CloudTrail, Organizations, STS and IAM.

A separate process keeps moto off the GIL of the code under test, which matters for benchmarks.
"""

import atexit
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

# Runs moto's own entry point, plus a thread that exits when stdin reaches EOF. The kernel closes our end of
# that pipe however we die (even SIGKILL, where atexit never runs), so the server cannot outlive us.
_LAUNCHER = """
import os, sys, threading
def _exit_with_parent():
    while os.read(0, 4096):  # raw reads: a buffered reader's lock would stall the interpreter's exit
        pass
    os._exit(0)
threading.Thread(target=_exit_with_parent, daemon=True).start()
from moto.server import main
sys.argv[0] = 'moto_server'
sys.exit(main())
"""

# Werkzeug's banner, e.g. " * Running on http://127.0.0.1:46377".
_BANNER = re.compile(rb'Running on https?://[^\s:]+:(\d+)')


class MotoServer:
    """`with MotoServer() as server: client('s3', server.url)`.

    `env` adds variables to the server's environment, e.g. {'INITIAL_NO_AUTH_ACTION_COUNT': '5'} to make moto
    check IAM policies after the first five requests.
    """

    def __init__(self, env=None, host='127.0.0.1', start_timeout=30.0):
        self.host = host
        self.env = dict(env or {})
        self.start_timeout = start_timeout
        self.port = None
        self.process = None
        self._log = None

    @property
    def url(self):
        if self.port is None:
            raise RuntimeError('the server is not started')
        return f'http://{self.host}:{self.port}'

    def start(self):
        if self.process is not None:
            return self
        # Its output goes to a file, not a pipe: nobody has to drain it, and moto logs every request.
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, '-c', _LAUNCHER, '-H', self.host, '-p', '0'],
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,  # a Ctrl-C meant for the tests does not reach it; stop() ends its group
        )
        atexit.register(self.stop)
        try:
            self.port = self._wait_for_port()
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def output(self):
        """What the server printed so far (banner, request log, tracebacks): for failure messages."""
        if self._log is None:
            return ''
        # pread leaves the file offset alone: the server shares it and keeps appending at it.
        fd = self._log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors='replace')

    def _wait_for_port(self):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            match = _BANNER.search(self.output().encode())
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                raise RuntimeError(f'moto_server exited with {self.process.returncode}:\n{self.output()}')
            time.sleep(0.05)
        raise TimeoutError(f'moto_server printed no port in {self.start_timeout}s:\n{self.output()}')

    def _wait_until_answering(self):
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                urllib.request.urlopen(f'{self.url}/moto-api/data.json', timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer will do
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def reset(self):
        """Forget every bucket, trail, organization, IAM user... (moto's own reset endpoint)."""
        request = urllib.request.Request(f'{self.url}/moto-api/reset', method='POST')
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self):
        process, self.process = self.process, None
        if process is None:
            return
        atexit.unregister(self.stop)
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        process.stdin.close()
        self._log.close()
        self._log = None
        self.port = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _signal_group(process, sig):
    try:
        os.killpg(process.pid, sig)  # its own session, so its own group: children go too
    except ProcessLookupError:
        pass


def client(service, url, region='us-east-1', **kwargs):
    """A boto3 client for `service` pointed at the emulator, with moto's dummy credentials."""
    # A session of its own: boto3's default session is shared and not thread-safe.
    session = boto3.session.Session(aws_access_key_id='testing', aws_secret_access_key='testing', region_name=region)
    # Path-style S3: virtual-hosted bucket names cannot resolve against 127.0.0.1.
    kwargs.setdefault('config', Config(s3={'addressing_style': 'path'}))
    return session.client(service, endpoint_url=url, **kwargs)
