"""A TCP proxy on loopback in front of the emulator: counts requests, adds latency, injects faults.

Real S3 throttles, resets connections and cuts bodies short; moto does none of that. Put this proxy between the
check and moto (point `endpoint_url` at `proxy.url`) to make those happen for real, on the wire:

    with FaultProxy(server.url, latency=0.05) as proxy:
        proxy.fail('GET', '/bucket/key', Fault.slow_down(), times=2)

HTTP/1.1 keep-alive is respected: a new request is recognised by its request line.
"""

import re
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlparse

_REQUEST_LINE = re.compile(rb'^(GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS) (\S+) HTTP/1\.[01]\r\n')


@dataclass
class Fault:
    kind: str  # 'status', 'reset' or 'truncate'
    status: int = 0
    code: str = ''
    after_bytes: int = 0

    @classmethod
    def slow_down(cls):
        return cls('status', 503, 'SlowDown')

    @classmethod
    def internal_error(cls):
        return cls('status', 500, 'InternalError')

    @classmethod
    def reset(cls):
        return cls('reset')

    @classmethod
    def truncate(cls, after_bytes):
        """Forward the request, then close the connection after `after_bytes` of the response."""
        return cls('truncate', after_bytes=after_bytes)

    def response(self):
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{self.code}</Code>'
                f'<Message>injected by the test proxy</Message></Error>').encode()
        head = (f'HTTP/1.1 {self.status} {self.code}\r\nContent-Type: application/xml\r\n'
                f'Content-Length: {len(body)}\r\nConnection: close\r\n\r\n').encode()
        return head + body


class FaultProxy:
    def __init__(self, upstream_url, latency=0.0):
        parsed = urlparse(upstream_url)
        self.upstream = (parsed.hostname, parsed.port)
        self.latency = latency
        self.requests = []  # (method, path) of every request seen, in order
        self._faults = []  # [method, path regex, Fault, times left]
        self._lock = threading.Lock()
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def fail(self, method, path_pattern, fault, times=1):
        """The next `times` requests whose method matches and whose path matches the regex get `fault`."""
        with self._lock:
            self._faults.append([method, re.compile(path_pattern), fault, times])

    def count(self, method=None, path_pattern=None):
        with self._lock:
            return sum(1 for m, p in self.requests
                       if (method is None or m == method) and (path_pattern is None or re.search(path_pattern, p)))

    def close(self):
        self._closed = True
        self._listener.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _take_fault(self, method, path):
        with self._lock:
            self.requests.append((method, path))
            for fault in self._faults:
                if fault[3] > 0 and fault[0] == method and fault[1].search(path):
                    fault[3] -= 1
                    return fault[2]
        return None

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        # Bytes of the current response still allowed through; None means no limit.
        state = {'budget': None}
        threading.Thread(target=self._relay_responses, args=(upstream, client, state), daemon=True).start()
        try:
            while data := client.recv(65536):
                line = _REQUEST_LINE.match(data)
                if line:
                    if self.latency:
                        time.sleep(self.latency)
                    fault = self._take_fault(line.group(1).decode(), line.group(2).decode())
                    if fault and fault.kind == 'status':
                        client.sendall(fault.response())
                        break
                    if fault and fault.kind == 'reset':
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
                        break
                    state['budget'] = fault.after_bytes if fault else None
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)

    @staticmethod
    def _relay_responses(upstream, client, state):
        try:
            while data := upstream.recv(65536):
                budget = state['budget']
                if budget is not None:
                    if len(data) >= budget:
                        client.sendall(data[:budget])
                        break
                    state['budget'] = budget - len(data)
                client.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)


def _close(*sockets):
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
