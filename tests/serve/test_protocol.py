"""The server process's connections on the wire: clients that are slow to send a request are
cut off at the read deadlines while others are served, idle keep-alive connections close, and
past the connection cap requests get 503."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

from .conftest import BODY_S, HEADER_S, KEEP_ALIVE_S, STRICT_TOKEN
from .servers import free_port, start_server

SLACK_S = 2.0  # two shared cores: the server's timers may fire a little late


def _post(port: int, text: str, headers: dict | None = None) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/predict",
        data=json.dumps({"inputs": [text]}).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _connect(port: int, sent: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if sent:
        sock.sendall(sent)
    return sock


def _until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed it."""
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return received, time.monotonic()


HALF_HEAD = b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty"
HEAD_AND_PART_OF_BODY = (
    b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Authorization: Bearer " + STRICT_TOKEN.encode() + b"\r\n"
    b'Content-Length: 200\r\n\r\n{"inputs": ["a'
)


def test_slow_clients_are_cut_off_while_others_are_served(strict_server):
    """A connection that sends nothing, one that sends half a request head and one that sends
    a head and then stalls in its body are each closed at their deadline (the partial
    requests with a 408), while other clients keep getting their predictions meanwhile."""
    port = strict_server.port
    start = time.monotonic()
    slow = {
        "idle": _connect(port),
        "half head": _connect(port, HALF_HEAD),
        "stalled body": _connect(port, HEAD_AND_PART_OF_BODY),
    }
    results: dict[str, tuple[bytes, float]] = {}
    readers = [
        threading.Thread(target=lambda k=k, s=s: results.__setitem__(k, _until_closed(s)))
        for k, s in slow.items()
    ]
    for reader in readers:
        reader.start()
    served = []
    while time.monotonic() - start < BODY_S + 0.5:
        served.append(_post(port, "where is my parcel", strict_server.headers))
    for reader in readers:
        reader.join(timeout=BODY_S + 30)

    assert served and set(served) == {200}, served
    limits = {"idle": HEADER_S, "half head": HEADER_S, "stalled body": BODY_S}
    for name, limit in limits.items():
        received, closed_at = results[name]
        assert closed_at - start < limit + SLACK_S, f"{name} stayed open {closed_at - start} s"
        if name == "idle":
            assert received == b"", received
        else:
            assert received.startswith(b"HTTP/1.1 408 "), (name, received)
    metrics_request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers=strict_server.headers
    )
    with urllib.request.urlopen(metrics_request, timeout=30) as r:
        metrics = r.read().decode()
    assert 'tuneforge_requests_total{endpoint="/v1/predict",status="408"} 1.0' in metrics
    assert "tuneforge_client_disconnects_total{" not in metrics


def test_idle_keep_alive_connections_close(strict_server):
    """After its answer, a keep-alive connection that sends nothing more is closed once the
    keep-alive time has passed."""
    sock = _connect(strict_server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    start = time.monotonic()
    received, closed_at = _until_closed(sock)
    assert received.startswith(b"HTTP/1.1 200 ")
    assert closed_at - start < KEEP_ALIVE_S + SLACK_S


def test_requests_past_the_connection_cap_get_503(served_run):
    """With --max-connections 3, three open connections are served and a fourth connection's
    request is answered 503 until one of the others closes."""
    port = free_port()
    proc = start_server(served_run, port, "--no-log", "--max-connections", "3")
    try:
        held = [_connect(port) for _ in range(2)]
        assert _post(port, "refund") == 200  # two held, this one the third
        held.append(_connect(port))
        assert _post(port, "refund") == 503  # three held, this one the fourth
        held.pop().close()
        time.sleep(0.5)  # the server notices the close
        assert _post(port, "refund") == 200
        for sock in held:
            sock.close()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
