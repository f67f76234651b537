"""A TCP proxy on loopback in front of the emulator: counts requests, adds latency, injects faults.

Real S3 throttles, resets connections and cuts bodies short; moto does none of that. Put this proxy between the
check and moto (point `endpoint_url` at `proxy.url`) to make those happen for real, on the wire:

    with FaultProxy(server.url, latency=0.05) as proxy:
        proxy.fail('GET', '/bucket/key', Fault.slow_down(), times=2)
        proxy.fail('GET', '/bucket/other', Fault.error(403, 'AccessDenied', 'not authorized to perform: kms:Decrypt'))
        proxy.fail('GET', '/bucket/gone', Fault.before(lambda method, path: delete_the_object()))

HTTP/1.1 keep-alive is respected: a new request is recognised by its request line.
"""

import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse
from xml.sax.saxutils import escape

_REQUEST_LINE = re.compile(rb'^(GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS) (\S+) HTTP/1\.[01]\r\n')


@dataclass
class Fault:
    kind: str  # 'status', 'reset', 'truncate', 'pause', 'stall' or 'before'
    status: int = 0
    code: str = ''
    after_bytes: int = 0
    message: str = 'injected by the test proxy'
    seconds: float = 0.0
    action: Callable[[str, str], None] | None = None

    @classmethod
    def error(cls, status, code, message='injected by the test proxy'):
        """Answer with an S3-style XML error instead of forwarding the request."""
        return cls('status', status, code, message=message)

    @classmethod
    def slow_down(cls):
        return cls.error(503, 'SlowDown', 'Please reduce your request rate.')

    @classmethod
    def internal_error(cls):
        return cls.error(500, 'InternalError', 'We encountered an internal error. Please try again.')

    @classmethod
    def pause(cls, after_bytes, seconds):
        """Forward the request, then hold the response `seconds` after its first `after_bytes`, then the rest."""
        return cls('pause', after_bytes=after_bytes, seconds=seconds)

    @classmethod
    def stall(cls, seconds):
        """Hold the request `seconds` before forwarding it: a slow server, for the client's read timeout."""
        return cls('stall', seconds=seconds)

    @classmethod
    def before(cls, action):
        """Call `action(method, path)`, then forward the request: change the world between two requests."""
        return cls('before', action=action)

    @classmethod
    def reset(cls):
        return cls('reset')

    @classmethod
    def truncate(cls, after_bytes):
        """Forward the request, then close the connection after `after_bytes` of the response."""
        return cls('truncate', after_bytes=after_bytes)

    def response(self):
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{escape(self.code)}</Code>'
                f'<Message>{escape(self.message)}</Message></Error>').encode()
        head = (f'HTTP/1.1 {self.status} {self.code}\r\nContent-Type: application/xml\r\n'
                f'Content-Length: {len(body)}\r\nConnection: close\r\n\r\n').encode()
        return head + body


class FaultProxy:
    def __init__(self, upstream_url, latency=0.0):
        parsed = urlparse(upstream_url)
        self.upstream = (parsed.hostname, parsed.port)
        self.latency = latency
        self.requests = []  # (method, path) of every request seen, in order
        self.headers = []  # the headers of each of those requests, names lowercased
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

    def clear(self):
        """Forget the faults not yet injected."""
        with self._lock:
            self._faults.clear()

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

    def _take_fault(self, method, path, headers):
        with self._lock:
            self.requests.append((method, path))
            self.headers.append(headers)
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
        # Relay each piece at once: with Nagle's algorithm, a response relayed in two writes after a pause waited
        # for a delayed ACK, adding ~20 ms to a GET on top of `latency`.
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Bytes of the current response still allowed through; None means no limit.
        # A pause of the current response: (bytes before it, seconds), or None.
        state = {'budget': None, 'pause': None}
        threading.Thread(target=self._relay_responses, args=(upstream, client, state), daemon=True).start()
        try:
            while data := client.recv(65536):
                line = _REQUEST_LINE.match(data)
                if line:
                    if self.latency:
                        time.sleep(self.latency)
                    method, path = line.group(1).decode(), line.group(2).decode()
                    fault = self._take_fault(method, path, _headers(data))
                    if fault and fault.kind == 'stall':
                        time.sleep(fault.seconds)
                    if fault and fault.kind == 'before':
                        fault.action(method, path)
                    if fault and fault.kind == 'status':
                        client.sendall(fault.response())
                        break
                    if fault and fault.kind == 'reset':
                        # Linger on, timeout 0: close() sends a TCP RST (no FIN first, so no shutdown()).
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
                        client.close()
                        break
                    state['budget'] = fault.after_bytes if fault and fault.kind == 'truncate' else None
                    state['pause'] = (fault.after_bytes, fault.seconds) if fault and fault.kind == 'pause' else None
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)

    @staticmethod
    def _relay_responses(upstream, client, state):
        try:
            while data := upstream.recv(65536):
                if state['pause'] is not None:
                    after, seconds = state['pause']
                    if len(data) < after:
                        state['pause'] = (after - len(data), seconds)
                    else:
                        client.sendall(data[:after])
                        data, state['pause'] = data[after:], None
                        time.sleep(seconds)
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


def _headers(data):
    """The header fields of a request that starts `data` (its first packet holds them for the requests seen here)."""
    head = data.split(b'\r\n\r\n', 1)[0].decode('latin-1').split('\r\n')[1:]
    return {name.strip().lower(): value.strip() for name, _, value in (line.partition(':') for line in head)}


def _close(*sockets):
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
