"""``voiceguide serve`` keeps serving under attack: slow clients that trickle their headers
(150 connections from one address), malformed paths and numbers, a token one character
short (never logged, not even in part)."""

from __future__ import annotations

import contextlib
import http.client
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.serve import test_serve
from tests.serve.test_serve import Running
from voiceguide.serve import limits
from voiceguide.serve.limits import MAX_PER_CLIENT, Slots


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """test_serve's server over a real export, for this module."""
    yield from test_serve.running.__wrapped__(tmp_path_factory)


def test_one_address_never_takes_every_slot() -> None:
    slots = Slots(total=10, per_client=4)
    assert [slots.take("10.0.0.1") for _ in range(5)][-1] == "4 already open from that address"
    assert all(slots.take(f"10.0.0.{n}") is None for n in range(2, 8))
    assert slots.take("10.0.0.9") == "10 already open"
    slots.give_back("10.0.0.1")
    assert slots.take("10.0.0.9") is None


def _phone_request(running: Running, path: str) -> tuple[int, float]:
    """A request from another loopback address (as a phone on the network is another)."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(
        "127.0.0.1", running.server.port, timeout=10, source_address=("127.0.0.2", 0)
    )
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        connection.close()


@pytest.mark.slow
def test_150_slow_connections_leave_a_phones_request_served_at_once(running: Running) -> None:
    slow: list[socket.socket] = []
    try:
        for _ in range(150):
            with contextlib.suppress(OSError):
                slow.append(socket.create_connection(("127.0.0.1", running.server.port), 5))
        request = f"GET /{running.token}/api/state HTTP/1.1\r\n".encode()
        for round_ in range(3):  # one byte each, every second: never a whole request
            for connection in slow:
                with contextlib.suppress(OSError):
                    connection.sendall(request[round_ : round_ + 1])
            status, took_s = _phone_request(running, f"/{running.token}/api/state")
            assert status == 200 and took_s < 1.0, (status, took_s)
            time.sleep(1.0)
    finally:
        for connection in slow:
            connection.close()
    refused = [line for line in running.log if "already open from that address" in line]
    assert len(refused) >= 150 - MAX_PER_CLIENT - 5  # a few may have been closed meanwhile


def test_a_client_trickling_its_headers_is_dropped_at_the_deadline(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "HEADERS_S", 1.0)
    connection = socket.create_connection(("127.0.0.1", running.server.port), 5)
    try:
        started = time.monotonic()
        request = f"GET /{running.token}/api/state HTTP/1.1\r\nX-Slow: ".encode() + b"a" * 100
        closed = False
        for byte in request:  # well within the socket's timeout each time
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.05)
            if time.monotonic() - started > 4:
                break
        if not closed:
            connection.settimeout(3)
            with contextlib.suppress(OSError):
                closed = connection.recv(100) == b""
        assert closed
        assert time.monotonic() - started < 4
    finally:
        connection.close()


@pytest.mark.parametrize(
    "tail",
    [
        "files/%C2%B2/x.mp3",  # "²": a digit to str.isdigit(), not to int()
        "zip/%C2%B2/x.zip",
        "files/" + "9" * 5000 + "/x.mp3",  # past the digits int() takes
        "cover/%C2%B2.png",
        "cover/" + "9" * 5000 + ".png",
    ],
)
def test_malformed_numbers_get_a_4xx(running: Running, tail: str) -> None:
    status, _, _ = running.get(tail)
    assert 400 <= status < 500


def test_no_part_of_the_token_is_logged(running: Running) -> None:
    short = running.token[:-1]
    status, _, _ = running.request("GET", f"/{short}/api/state")
    assert status == 403
    line = running.log[-1]
    assert "no valid token" in line and short not in line and short[:8] not in line, line


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_serve_stopped_by_sigterm_or_sighup_says_stopped(
    running: Running, stop: int, code: int
) -> None:
    port = test_serve._free_port()
    same = shlex.split(running.state()["command"])[2:]  # the options of the export served
    args = [*same, "--out", str(running.out_dir), "--port", str(port), "--host", "127.0.0.1"]
    with test_serve._serve(args, running.env) as process:
        assert process.stdout is not None and process.stderr is not None
        deadline = time.monotonic() + 120
        while not process.stdout.readline().startswith("http://"):
            assert time.monotonic() < deadline and process.poll() is None
        process.send_signal(stop)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"serve did not stop within 20 s of signal {stop}")
        err = process.stderr.read()
        assert process.returncode == code, err
        assert err.strip().endswith("Stopped.") and "Traceback" not in err
