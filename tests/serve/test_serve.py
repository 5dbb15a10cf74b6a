"""``voiceguide serve``: the HTTP server (token, traversal, ranges, parallel clients, slow
clients, the settings form against the CLI's own messages and exports) and the page in a
real headless Chromium (playback, chapters, lyrics, Media Session, a phone-size screenshot).

The server runs in this process on a free port, over a real export of the default routine
(espeak-ng, ffmpeg); the command itself runs as a subprocess for the terminal output, a
busy port, an address it cannot bind, and Ctrl-C.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import hashlib
import http.client
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from voiceguide import pipeline
from voiceguide.cli import prepare_from_args
from voiceguide.pipeline.saved import kept_path
from voiceguide.serve import (
    Server,
    Service,
    export_render,
    open_snapshot,
    parse_range,
    qr_lines,
)

pytestmark = [pytest.mark.ffmpeg, pytest.mark.espeak]

MANIFEST = ".voiceguide-export.json"
VOICEGUIDE = [str(Path(sys.executable).with_name("voiceguide"))]  # the console script


def _prepare(args: Any) -> Any:
    return prepare_from_args(None, args)


@dataclass
class Running:
    service: Service
    server: Server
    out_dir: Path
    log: list[str]
    env: dict[str, str]

    @property
    def token(self) -> str:
        return self.server.token

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", f"/{self.token}/{path}", headers)

    def state(self) -> dict[str, Any]:
        status, _, body = self.get("api/state")
        assert status == 200
        return dict(json.loads(body))

    def submit(self, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
        state = self.state()
        form = {**state["form"]["values"], "generation": str(state["generation"]), **fields}
        body = urllib.parse.urlencode(form).encode()
        status, _, answer = self.request(
            "POST",
            f"/{self.token}/api/settings",
            {"Content-Type": "application/x-www-form-urlencoded"},
            body,
        )
        return status, dict(json.loads(answer))

    def wait_rendered(self, generation: int, timeout_s: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.state()
            if state["render"]["state"] == "failed":
                raise AssertionError(state["render"]["error"])
            if state["generation"] >= generation and state["render"]["state"] != "rendering":
                return state
            time.sleep(0.2)
        raise AssertionError("the render did not finish")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The server over a real export of the default routine, for the whole module."""
    from tests.conftest import _espeak_available, require

    require("espeak-ng (through pyttsx3)", _espeak_available(), "apt-get install espeak-ng")
    require("ffmpeg", shutil.which("ffmpeg") is not None, "apt-get install ffmpeg")
    base = tmp_path_factory.mktemp("serve")
    env = {
        "VOICEGUIDE_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "cache"),
        "VOICEGUIDE_CONFIG_DIR": str(base / "config"),
        "VOICEGUIDE_DATA_DIR": str(base / "data"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        log: list[str] = []
        out_dir = base / "audio"
        service = Service(None, (), _prepare, export_render, out_dir, log.append)
        server = Server(service, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        try:
            service.start(lambda done, total: None, lambda: False)
            thread.start()
            yield Running(service, server, out_dir, log, env)
        finally:
            if thread.is_alive():
                server.shutdown()
            server.close()
            service.close()


def _export_files(folder: Path) -> dict[str, bytes]:
    names = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]
    return {name: (folder / name).read_bytes() for name in names}


def test_the_page_gets_the_settings_declaration(running: Running) -> None:
    from voiceguide.plan.catalog import form_json

    status, headers, body = running.get("api/form")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["settings"] == form_json()
    values = running.state()["form"]["values"]
    assert {s["name"] for s in form_json() if s["type"] != "per exercise"} <= set(values)


# ---------------------------------------------------------------- the files, as exported


def test_every_download_equals_the_export_byte_for_byte(running: Running) -> None:
    state = running.state()
    exported = _export_files(running.out_dir)
    downloads = {d["name"]: d for d in state["downloads"]}
    assert set(exported) | {next(n for n in downloads if n.endswith(".zip"))} == set(downloads)
    for name, data in exported.items():
        status, headers, body = running.get(downloads[name]["url"])
        assert status == 200, name
        assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest(), name
        assert int(headers["content-length"]) == len(data)
    zip_entry = next(d for d in state["downloads"] if d["name"].endswith(".zip"))
    status, headers, body = running.get(zip_entry["url"])
    assert status == 200 and headers["content-type"] == "application/zip"
    assert headers["content-disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        members = {Path(n).name: archive.read(n) for n in archive.namelist()}
        folders = {Path(n).parent.name for n in archive.namelist()}
    assert members == exported
    assert folders == {state["album"]}


def test_content_types_and_headers(running: Running) -> None:
    state = running.state()
    kinds = {
        ".mp3": "audio/mpeg",
        ".lrc": "text/plain; charset=utf-8",
        ".m3u8": "audio/x-mpegurl; charset=utf-8",
    }
    for entry in state["downloads"]:
        suffix = Path(entry["name"]).suffix
        if suffix in kinds:
            status, headers, _ = running.request("HEAD", f"/{running.token}/{entry['url']}")
            assert status == 200 and headers["content-type"] == kinds[suffix], entry["name"]
            assert headers["accept-ranges"] == "bytes"
            assert headers["x-content-type-options"] == "nosniff"
    for path, kind in (
        ("", "text/html; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("api/state", "application/json"),
        (state["cover"], "image/jpeg"),
        (state["cover"].replace(".jpg", ".png"), "image/png"),
        ("icon.svg", "image/svg+xml"),
    ):
        status, headers, body = running.get(path)
        assert status == 200 and headers["content-type"] == kind, path
        assert headers["referrer-policy"] == "no-referrer"
    status, _, body = running.get(state["cover"].replace(".jpg", ".png"))
    assert body.startswith(b"\x89PNG")
    status, _, small = running.get(state["cover"])  # the page's and the lock screen's cover
    assert small.startswith(b"\xff\xd8") and len(small) < 40_000
    status, headers, _ = running.get(state["track"] + "?download=1")
    assert headers["content-disposition"].startswith("attachment;")


def test_text_is_gzipped_for_a_client_that_takes_it_and_nothing_else_is(running: Running) -> None:
    state = running.state()
    for path in ("", "app.js", "app.css", "api/state"):
        _, plain_headers, plain = running.get(path)
        assert "content-encoding" not in plain_headers  # asked for nothing: as it is
        status, headers, packed = running.get(path, {"Accept-Encoding": "br, gzip;q=0.8"})
        assert status == 200 and headers["content-encoding"] == "gzip", path
        assert headers["vary"] == "Accept-Encoding" and int(headers["content-length"]) == len(
            packed
        )
        if path != "api/state":  # (the state has the render's progress, which may move)
            assert gzip.decompress(packed) == plain
        assert len(packed) < len(plain) / 2, path
        _, refused, _ = running.get(path, {"Accept-Encoding": "gzip;q=0, deflate"})
        assert "content-encoding" not in refused
    for path in (state["audio"], state["cover"], state["track"]):
        _, headers, _ = running.get(path, {"Accept-Encoding": "gzip"})
        assert "content-encoding" not in headers, path


@pytest.mark.parametrize("which", ["track", "audio"])
def test_range_requests_return_the_right_bytes(running: Running, which: str) -> None:
    """The full track as exported, and as the page plays it: the same file from its first
    MP3 frame (its tag, with the cover, lyrics and chapters, would come before the sound)."""
    state = running.state()
    data = _export_files(running.out_dir)[urllib.parse.unquote(state["track"].rsplit("/", 1)[1])]
    if which == "audio":
        from mutagen.id3 import ID3

        data = data[ID3(io.BytesIO(data)).size :]
        assert data[:2] == b"\xff\xfb" and len(data) > 1_000_000  # a frame's sync word
    size = len(data)
    for header, first, last in (
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, size - 1),
        ("bytes=-500", size - 500, size - 1),
        (f"bytes={size - 10}-{size + 1000}", size - 10, size - 1),
        ("bytes=0-0", 0, 0),
    ):
        status, headers, body = running.get(state[which], {"Range": header})
        assert status == 206, header
        assert headers["content-range"] == f"bytes {first}-{last}/{size}", header
        assert body == data[first : last + 1], header
    status, headers, body = running.get(state[which], {"Range": f"bytes={size}-"})
    assert status == 416 and headers["content-range"] == f"bytes */{size}"
    # several ranges, or nonsense: the whole file (the server may ignore a Range header)
    for header in ("bytes=0-1,5-6", "bytes=abc", "items=0-5", "bytes=5-1"):
        status, _, body = running.get(state[which], {"Range": header})
        assert status == 200 and body == data, header


def test_parse_range_is_bounded() -> None:
    assert parse_range("bytes=0-" + "9" * 18, 100) == (0, 99)
    assert parse_range("bytes=0-" + "9" * 19, 100) is None  # no number beyond 18 digits
    assert parse_range("bytes=" + "1" * 200, 100) is None  # no header beyond 100 characters
    assert parse_range("bytes=-0", 100) == "unsatisfiable"
    assert parse_range("bytes=-", 100) is None


def test_fifty_parallel_range_requests_are_all_served(running: Running) -> None:
    state = running.state()
    exported = _export_files(running.out_dir)
    tracks = [d for d in state["downloads"] if d["name"].endswith(".mp3")]
    chooser = random.Random(14)
    jobs = []
    for _ in range(50):
        track = chooser.choice(tracks)
        size = len(exported[track["name"]])
        first = chooser.randrange(size)
        jobs.append((track, first, min(size - 1, first + chooser.randrange(1, 400_000))))

    def fetch(job: tuple[dict[str, Any], int, int]) -> bool:
        track, first, last = job
        status, _, body = running.get(track["url"], {"Range": f"bytes={first}-{last}"})
        return status == 206 and body == exported[track["name"]][first : last + 1]

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(fetch, jobs))
    assert all(results), results.count(False)
    print(f"50 parallel range requests: {time.monotonic() - start:.2f} s")


# ---------------------------------------------------------------- the token and traversal


def test_requests_without_the_token_get_403(running: Running) -> None:
    state = running.state()
    wrong = "x" * len(running.token)
    for path in (
        "/",
        "/index.html",
        "/api/state",
        "/api/pain",
        f"/{wrong}/",
        f"/{wrong}/api/state",
        f"/{wrong}/api/pain",
        f"/{wrong}/{state['audio']}",
        f"/{state['audio']}",
        f"/{running.token[:-1]}/",
        "/../../etc/passwd",
        "http://evil/" + running.token + "/",
    ):
        status, _, body = running.request("GET", path)
        assert status == 403, path
        assert b"Scan the code" in body and b"<audio" not in body  # a short page, nothing else
    before = _export_files(running.out_dir)
    body = urllib.parse.urlencode({"hold:supine-hip-stretch": "45"}).encode()
    for path in ("/api/settings", f"/{wrong}/api/settings"):
        status, _, _ = running.request(
            "POST", path, {"Content-Type": "application/x-www-form-urlencoded"}, body
        )
        assert status == 403
    score = urllib.parse.urlencode({"id": "a" * 32, "score": "3"}).encode()
    for path in ("/api/pain", f"/{wrong}/api/pain"):
        status, _, _ = running.request(
            "POST", path, {"Content-Type": "application/x-www-form-urlencoded"}, score
        )
        assert status == 403
    assert not running.service.rendering()
    assert _export_files(running.out_dir) == before
    assert any("no valid token" in line and "TOKEN" not in line for line in running.log)
    assert not any(running.token in line for line in running.log)  # never logged


def test_the_pain_check_in_over_http_refuses_bad_input_in_one_line(running: Running) -> None:
    """The endpoint as the page meets it (the check-in itself: tests/serve/test_phone_sessions
    and the page's test): a score that is not 0-10 gets 400 with one line, and the chart's
    data is JSON, like every answer of the server."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for score in ("11", "-1", "x", "2.0"):
        body = urllib.parse.urlencode({"id": "a" * 32, "score": score}).encode()
        status, headers, answer = running.request("POST", f"/{running.token}/api/pain", form, body)
        message = json.loads(answer)["message"]
        assert status == 400 and "\n" not in message, (score, message)
        assert message == f"score {score!r}: give a whole number from 0 (no pain) to 10"
    body = urllib.parse.urlencode({"id": "a" * 32, "score": "3"}).encode()
    status, _, answer = running.request("POST", f"/{running.token}/api/pain", form, body)
    assert status == 404 and not json.loads(answer)["recorded"]  # no such session here
    status, headers, answer = running.get("api/pain")
    assert status == 200 and headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"
    trend = json.loads(answer)
    assert set(trend) == {"today", "pain"} and trend["pain"]["scores"] == []
    status, _, _ = running.request("PUT", f"/{running.token}/api/pain", form, body)
    assert status == 405


def test_the_token_is_kept_in_the_data_folder_for_its_owner_only(tmp_path: Path) -> None:
    from voiceguide.serve import kept_token

    first = kept_token(tmp_path)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", first)
    assert (tmp_path / "serve-token").stat().st_mode & 0o777 == 0o600
    assert kept_token(tmp_path) == first  # the same link after a restart
    new = kept_token(tmp_path, new=True)
    assert new != first and kept_token(tmp_path) == new
    (tmp_path / "serve-token").write_text("short\n")  # damaged: a new one, kept
    again = kept_token(tmp_path)
    assert again not in (new, "short") and kept_token(tmp_path) == again
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert kept_token(blocked) != kept_token(blocked)  # cannot be kept: one per run


def test_traversal_and_encoded_tricks_are_refused_and_logged(running: Running) -> None:
    generation = running.state()["generation"]
    t = running.token
    attempts = [
        f"/{t}/../../../etc/passwd",
        f"/{t}/files/{generation}/../../../etc/passwd",
        f"/{t}/files/{generation}/..%2f..%2f..%2fetc%2fpasswd",
        f"/{t}/files/{generation}/%2e%2e/%2e%2e/etc/passwd",
        f"/{t}/files/{generation}/%2E%2E",
        f"/{t}/files/{generation}/..\\..\\etc\\passwd",
        f"/{t}/files/{generation}/%5c..%5cetc",
        f"/{t}//etc/passwd",
        f"/{t}/files/{generation}//etc/passwd",
        f"/{t}/files/{generation}/%00",
        f"/{t}/files/{generation}/%252e%252e%252fetc%252fpasswd",
        f"/{t}/files/{generation}/etc/passwd",
        f"/{t}/files/{generation}/{MANIFEST}",
        f"/{t}/files/{generation}/",
        f"/{t}/files/",
        f"/{t}/static/",
        f"/{t}/%ff",
        f"/{t}/files/{generation}/%c0%ae%c0%ae%2fetc",
    ]
    for path in attempts:
        before = len(running.log)
        status, _, body = running.request("GET", path)
        assert status in (403, 404), path
        assert b"root:" not in body and b"files" not in body[:20], path
        assert len(running.log) == before + 1, path
        assert running.log[-1].startswith("refused GET "), running.log[-1]
    status, _, _ = running.request("PUT", f"/{t}/files/{generation}/x.mp3", body=b"x")
    assert status == 405
    status, _, _ = running.request("DELETE", f"/{t}/")
    assert status == 405


def test_symlinks_out_of_the_folder_are_not_served(running: Running, tmp_path: Path) -> None:
    """An export folder whose manifest lists a symlink (to a file outside) and a folder:
    neither is opened, both are logged; a symlink beside the files is not served either."""
    folder = tmp_path / "export"
    shutil.copytree(running.out_dir, folder, symlinks=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("secret\n")
    (folder / "evil.lrc").symlink_to(secret)
    (folder / "sub.mp3").mkdir()
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"] += ["evil.lrc", "sub.mp3", "../secret.txt"]
    (folder / MANIFEST).write_text(json.dumps(manifest))
    refused: list[str] = []
    snapshot = open_snapshot(folder, 1, refused.append)
    try:
        assert "evil.lrc" not in snapshot.files and "sub.mp3" not in snapshot.files
        assert len(refused) == 3, refused
        assert set(snapshot.files) == set(manifest["files"][:-3])
    finally:
        snapshot.close()
    # in the served folder: a symlink placed beside the export's files is never a route
    link = running.out_dir / "link.mp3"
    link.symlink_to(secret)
    try:
        status, _, body = running.get(f"files/{running.state()['generation']}/link.mp3")
        assert status == 404 and b"secret" not in body
        assert "not a file of the export" in running.log[-1]
    finally:
        link.unlink()


def test_a_slow_client_does_not_hold_up_others_and_is_cut_off(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceguide.serve import server as server_module

    monkeypatch.setattr(server_module._Handler, "timeout", 1.0)
    slow = [socket.create_connection(("127.0.0.1", running.server.port)) for _ in range(5)]
    try:
        for connection in slow:  # half a request line each, then nothing
            connection.sendall(f"GET /{running.token}/api/st".encode())
        start = time.monotonic()
        assert running.state()["generation"] >= 1
        assert time.monotonic() - start < 1.0
        slow[0].settimeout(5)
        began = time.monotonic()
        assert slow[0].recv(100) == b""  # closed by the server
        assert time.monotonic() - began < 3
    finally:
        for connection in slow:
            connection.close()


def test_a_huge_form_is_refused(running: Running) -> None:
    status, _, _ = running.request(
        "POST", f"/{running.token}/api/settings", {"Content-Length": str(10**9)}
    )
    assert status == 413


# ---------------------------------------------------------------- the settings form


def _cli_error(args: list[str], env: dict[str, str], out: Path) -> str:
    result = subprocess.run(
        [*VOICEGUIDE, "export", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert line.startswith("voiceguide: error: ") and "\n" not in line
    return line.removeprefix("voiceguide: error: ")


@pytest.mark.parametrize(
    ("field", "value", "cli"),
    [
        ("hold:supine-hip-stretch", "3", ["--hold", "supine-hip-stretch=3"]),
        ("rounds:supine-hip-stretch", "many", ["--rounds", "supine-hip-stretch=many"]),
        ("sets:adductor-ball-squeeze", "0", ["--sets", "adductor-ball-squeeze=0"]),
        ("rate", "abc", ["--rate", "abc"]),
        ("rate", "9999", ["--rate", "9999"]),
        ("verbosity", "loud", ["--verbosity", "loud"]),
        ("pace", "brisk", ["--pace", "brisk"]),
        ("fit", "soon", ["--fit", "soon"]),
        ("breath", "4", ["--breath", "4"]),
        ("hold:supine-hip-stretch", "", ["--hold", "supine-hip-stretch="]),
    ],
)
def test_bad_form_values_are_refused_with_the_cli_message_and_change_nothing(
    running: Running, tmp_path: Path, field: str, value: str, cli: list[str]
) -> None:
    before = _export_files(running.out_dir)
    generation = running.state()["generation"]
    status, answer = running.submit({field: value})
    assert status == 400
    from voiceguide.serve.form import LABELS, plain

    message = plain(field, _cli_error(cli, running.env, tmp_path))  # the CLI's, in plain words
    assert answer["errors"] == [{"field": field, "message": message}]
    assert message.startswith(LABELS[field.partition(":")[0]] + ": ") and "--" not in message
    assert running.state()["generation"] == generation
    assert not running.service.rendering()
    assert _export_files(running.out_dir) == before
    assert not list(tmp_path.iterdir()) or all(p.name.startswith(".") for p in tmp_path.iterdir())


def test_an_impossible_fit_fails_the_render_with_the_cli_message_and_changes_nothing(
    running: Running, tmp_path: Path
) -> None:
    """--fit is checked when the plan is made: the render starts, fails with the message
    'export --fit' prints, naming the field, and the export served stays."""
    before = _export_files(running.out_dir)
    generation = running.state()["generation"]
    status, answer = running.submit({"fit": "2m"})
    assert status == 202, answer
    deadline = time.monotonic() + 120
    while (render := running.state()["render"])["state"] == "rendering":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert render["state"] == "failed" and render["field"] == "fit"
    from voiceguide.serve.form import plain

    assert render["error"] == plain("fit", _cli_error(["--fit", "2m"], running.env, tmp_path))
    assert render["error"].startswith("Fit into: ")
    assert running.state()["generation"] == generation
    assert _export_files(running.out_dir) == before


def test_the_form_offers_the_pace(running: Running) -> None:
    """A pace given on the form goes the way of every field (checked by export's parser,
    kept in phone.toml: tests/plan/test_pace_setting.py)."""
    assert running.state()["form"]["values"]["pace"] == "standard"
    status, _headers, body = running.get("api/form")
    assert status == 200
    pace = next(f for f in json.loads(body)["settings"] if f["name"] == "pace")
    assert pace["label"] == "Time to move" and pace["choices"] == ["slow", "standard", "fast"]


def test_unknown_fields_and_stale_forms_are_refused(running: Running) -> None:
    status, answer = running.submit({"out": "/tmp/elsewhere"})
    assert status == 400 and "unknown field 'out'" in answer["errors"][0]["message"]
    status, answer = running.submit({"generation": "0", "rate": "150"})
    assert status == 409


# ---------------------------------------------------------------- the command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*VOICEGUIDE, "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def test_a_busy_port_or_an_address_that_cannot_be_bound_exits_1_with_one_line(
    running: Running,
) -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = _serve(["--out", str(running.out_dir), "--port", str(port)], running.env)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert err.strip().count("\n") == 0 and "the port is in use" in err and str(port) in err
    assert out == ""
    process = _serve(["--out", str(running.out_dir), "--host", "203.0.113.7"], running.env)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and err.strip().count("\n") == 0, err
    assert "cannot listen on 203.0.113.7:8765: this machine has no such address" in err


def test_serve_reuses_the_export_prints_a_qr_code_and_ctrl_c_exits_130_freeing_the_port(
    running: Running,
) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in running.out_dir.iterdir()}
    port = _free_port()
    same = shlex.split(running.state()["command"])[2:]  # the options of the export served
    with _serve(
        [*same, "--out", str(running.out_dir), "--port", str(port), "--host", "127.0.0.1"],
        running.env,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        lines = []
        start = time.monotonic()
        while True:
            line = process.stdout.readline()
            assert line, process.stderr.read()
            lines.append(line.rstrip("\n"))
            if line.startswith("http://"):
                break
        ready_s = time.monotonic() - start
        url = lines[-1]
        assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/[A-Za-z0-9_-]{{22}}/", url)
        assert lines[:-1] == qr_lines(url, color=False)  # not a terminal: plain blocks
        assert _decode_qr(lines[:-1]) == url
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and b"<audio" in response.read()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()  # fail, but do not leave the suite waiting on it for ever
            pytest.fail(
                f"serve did not stop within 20 s of Ctrl-C; it said: {process.stderr.read()}"
            )
        err = process.stderr.read()
        assert process.returncode == 130, err
        assert "Serving the export in" in err  # reused: up to date
        assert err.strip().endswith("Stopped.")
    after = {p.name: p.stat().st_mtime_ns for p in running.out_dir.iterdir()}
    assert after == before  # nothing written
    with socket.socket() as again:  # the port is free (for a server: SO_REUSEADDR, as serve
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # sets, since the closed
        again.bind(("127.0.0.1", port))  # connection of this test waits in TIME_WAIT)
        again.listen()
    print(f"serve with an up-to-date export: URL printed after {ready_s:.2f} s")


def _decode_qr(lines: list[str]) -> str:
    """The QR code as printed, drawn as an image and read by zbarimg (a real decoder)."""
    from PIL import Image

    from tests.conftest import require

    require("zbarimg", shutil.which("zbarimg") is not None, "apt-get install zbar-tools")
    halves = {"\u2588": (0, 0), "\u2580": (0, 1), "\u2584": (1, 0), " ": (1, 1)}  # 1: dark
    rows: list[list[int]] = []
    for line in lines:
        pairs = [halves[ch] for ch in line]
        rows += [[p[0] for p in pairs], [p[1] for p in pairs]]
    scale = 8
    image = Image.new("L", (len(rows[0]) * scale, len(rows) * scale), 255)
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                image.paste(0, (x * scale, y * scale, (x + 1) * scale, (y + 1) * scale))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-"],
        input=buffer.getvalue(),
        capture_output=True,
        timeout=30,
        check=True,
    )
    return result.stdout.decode().strip()


def test_the_colored_qr_code_paints_both_colors() -> None:
    lines = qr_lines("http://192.168.1.2:8765/abc/", color=True)
    assert all(line.endswith("\x1b[0m") for line in lines)
    cells = re.findall(r"\x1b\[(\d+)m\x1b\[(\d+)m\u2580", lines[0])
    assert (
        cells
        and {fg for fg, _ in cells} <= {"30", "97"}
        and {bg for _, bg in cells} <= {"40", "107"}
    )


# ---------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from tests.conftest import require
    from tests.helpers.browser import Browser

    require("chromium", shutil.which("chromium") is not None, "apt-get install chromium")
    with Browser() as launched:
        yield launched


def _plan(running: Running) -> Any:
    routine, resolved = _prepare(list(running.service._args.values()))
    return pipeline.plan(routine, resolved.settings, pipeline.make_cache(resolved.settings))


@pytest.mark.browser
def test_the_page_plays_seeks_by_chapter_and_follows_the_lyrics(
    running: Running, browser: Any, tmp_path: Path
) -> None:
    state = running.state()
    timeline = _plan(running)
    page = browser.page(390, 844)
    url = f"http://127.0.0.1:{running.server.port}/{running.token}/"
    page.goto(url)
    page.wait_for("document.querySelectorAll('#chapters button').length > 0")
    assert page.js("document.getElementById('title').textContent") == timeline.title
    # every chapter mark of the plan is listed, at its time
    sections = [(s.title, s.start_ms / 1000) for s in timeline.sections]
    listed = page.js("[...document.querySelectorAll('#chapters button')].map(b => b.textContent)")
    assert [label.rsplit(" ", 1)[0] for label in listed] == [title for title, _ in sections]
    times = page.js("[...document.querySelectorAll('#chapters .at')].map(e => e.textContent)")
    assert [label.rsplit(" ", 1)[1] for label in listed] == times  # the visible words
    assert [int(m) * 60 + int(s) for m, s in (t.split(":") for t in times)] == [
        int(t + 0.5)
        for _, t in sections  # (JavaScript's rounding: half up)
    ]
    # play: currentTime advances (autoplay allowed by flag; muted, no sound card needed)
    page.tap("#play")
    page.wait_for("document.getElementById('audio').currentTime > 0.5", 20)
    first = page.js("document.getElementById('audio').currentTime")
    time.sleep(1.0)
    assert page.js("document.getElementById('audio').currentTime") > first + 0.5
    assert page.js("document.getElementById('play').getAttribute('aria-label')") == "Pause"
    # tapping a chapter seeks to its plan time
    errors = []
    for index in (4, 2, len(sections) - 1):
        page.tap(f"#chapters li:nth-child({index + 1}) button")
        at = page.js("document.getElementById('audio').currentTime")
        errors.append(abs(at - sections[index][1]))
        assert errors[-1] < 0.1, (index, at, sections[index])
        page.wait_for(
            f"document.getElementById('chapter').textContent === {json.dumps(sections[index][0])}"
        )
        assert page.js("navigator.mediaSession.metadata.title") == sections[index][0]
        assert page.js(
            "document.querySelector('#chapters button[aria-current=true]').dataset.index"
        ) == str(index)
    print(f"chapter taps: at most {max(errors) * 1000:.1f} ms from the plan's time")
    assert page.js("navigator.mediaSession.metadata.artist") == timeline.title
    assert page.js("navigator.mediaSession.metadata.artwork[0].src").endswith(state["cover"])
    # the instruction follows the timed lyrics of the exported .lrc file
    lrc = next(p for p in running.out_dir.glob("*.lrc") if "full routine" in p.name)
    lyrics = [
        (int(m) * 60 + float(s), text)
        for m, s, text in re.findall(r"^\[(\d+):(\d+\.\d+)\](.*)$", lrc.read_text(), re.MULTILINE)
    ]
    spoken = [(t, text) for t, text in lyrics if len(text) > 12]
    for t, text in spoken[3:6]:
        page.js(f"document.getElementById('audio').currentTime = {t + 0.3}")
        page.wait_for(f"document.getElementById('instruction').textContent === {json.dumps(text)}")
    # and changes by itself while playing, when the next line starts
    t, _ = spoken[len(spoken) // 2]
    following = next(x for x in lyrics if x[0] > t + 0.5)
    page.js(f"document.getElementById('audio').currentTime = {following[0] - 0.6}")
    page.js("document.getElementById('audio').play()")
    page.wait_for(
        f"document.getElementById('instruction').textContent === {json.dumps(following[1])}", 10
    )
    # previous and next chapter buttons, then pause
    page.js(f"document.getElementById('audio').currentTime = {sections[3][1] + 5}")
    page.tap("#next")
    assert abs(page.js("document.getElementById('audio').currentTime") - sections[4][1]) < 0.1
    page.tap("#prev")  # within 2.5 s of its start: the one before
    assert abs(page.js("document.getElementById('audio').currentTime") - sections[3][1]) < 0.1
    time.sleep(2.5)  # playing on, into its first instruction
    folder = Path(os.environ.get("VOICEGUIDE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "serve-390x844.png"
    page.js("window.scrollTo(0, 0)")
    page.screenshot(shot)
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (390, 844)
    print(f"screenshot: {shot}")
    page.tap("#play")
    page.wait_for("document.getElementById('audio').paused")
    # the Media Session's lock-screen actions move by chapter too
    page.wait_for("navigator.mediaSession.playbackState === 'paused'")


@pytest.mark.browser
def test_the_audio_plays_on_while_the_page_is_hidden(running: Running, browser: Any) -> None:
    """A plain audio element keeps playing when the page is hidden (a locked phone screen
    hides it too; Web Audio would be suspended)."""
    page = browser.page(390, 844)
    page.goto(f"http://127.0.0.1:{running.server.port}/{running.token}/")
    page.wait_for("document.querySelectorAll('#chapters button').length > 0")
    page.tap("#play")
    page.wait_for("document.getElementById('audio').currentTime > 0.3", 20)
    page.hide()
    page.wait_for("document.hidden")
    start = page.js("document.getElementById('audio').currentTime")
    time.sleep(2.0)
    assert page.js("document.getElementById('audio').currentTime") - start > 1.5
    assert not page.js("document.getElementById('audio').paused")
    page.js("document.getElementById('audio').pause()")


@pytest.mark.browser
def test_the_downloads_show_every_file_with_its_size_and_the_zip_about_its_size(
    running: Running, browser: Any
) -> None:
    page = browser.page(390, 844)
    page.goto(f"http://127.0.0.1:{running.server.port}/{running.token}/")
    page.wait_for("document.querySelectorAll('#downloads li').length > 0")
    shown = page.js(
        "[...document.querySelectorAll('#downloads a')].map(a => [a.getAttribute('download'),"
        " a.querySelector('.size').textContent])"
    )
    exported = _export_files(running.out_dir)
    sizes = dict(shown)
    (zip_name,) = [name for name in sizes if name.endswith(".zip")]
    assert set(sizes) == set(exported) | {zip_name}
    for name, data in exported.items():
        size = len(data)
        if size >= 1e6:
            assert re.fullmatch(r"\d+\.\d MB", sizes[name]), sizes[name]
            assert abs(float(sizes[name].split()[0]) - size / 1e6) <= 0.051, name
        else:
            assert re.fullmatch(r"\d+ kB", sizes[name]), sizes[name]
            assert abs(int(sizes[name].split()[0]) - max(1, size / 1e3)) <= 0.51, name
    total_mb = sum(len(data) for data in exported.values()) / 1e6  # the zip stores them as is
    assert re.fullmatch(r"about \d+\.\d MB", sizes[zip_name]), sizes[zip_name]
    assert abs(float(sizes[zip_name].split()[1]) - total_mb) <= 0.051


@pytest.mark.browser
def test_the_page_is_accessible(running: Running, browser: Any) -> None:
    page = browser.page(390, 844)
    page.goto(f"http://127.0.0.1:{running.server.port}/{running.token}/")
    page.wait_for("document.querySelectorAll('#chapters button').length > 0")
    unnamed = page.js("""[...document.querySelectorAll('button, input, select, a, summary')]
        .filter(e => !e.hidden && e.offsetParent !== null)
        .filter(e => !(e.getAttribute('aria-label') || e.labels?.length || e.textContent.trim()))
        .map(e => e.outerHTML.slice(0, 80))""")
    assert unnamed == []
    assert page.js("document.documentElement.lang") == "en"
    size = page.js("parseFloat(getComputedStyle(document.getElementById('instruction')).fontSize)")
    assert size >= 24
    play = page.js("document.getElementById('play').getBoundingClientRect().width")
    assert play >= 120  # a big target
    smallest = page.js(
        "Math.min(...[...document.querySelectorAll('#chapters button, #prev, #next')].map(b => b.getBoundingClientRect().height))"
    )
    assert smallest >= 44  # the smallest comfortable touch target
    # keyboard: space plays and pauses, the arrow keys move by chapter
    page.js("document.activeElement.blur()")
    page.call(
        "Input.dispatchKeyEvent",
        {"type": "keyDown", "key": " ", "code": "Space", "windowsVirtualKeyCode": 32},
    )
    page.wait_for("!document.getElementById('audio').paused")
    page.call(
        "Input.dispatchKeyEvent",
        {"type": "keyDown", "key": " ", "code": "Space", "windowsVirtualKeyCode": 32},
    )
    page.wait_for("document.getElementById('audio').paused")


@pytest.mark.browser
def test_the_page_shows_a_form_error_next_to_its_field(running: Running, browser: Any) -> None:
    page = browser.page(390, 844)
    page.goto(f"http://127.0.0.1:{running.server.port}/{running.token}/")
    page.wait_for("document.querySelectorAll('#fields input').length > 0")
    page.js("document.getElementById('settings-details').open = true")
    page.js("document.querySelector('[name=\"hold:supine-hip-stretch\"]').value = '3'")
    page.tap("#render")
    message = page.wait_for(
        "document.querySelector('[name=\"hold:supine-hip-stretch\"] ~ .error:not([hidden])')?.textContent"
    )
    assert message == "Hold: 5 to 600 seconds"  # in plain words, not the command line's
    assert (
        page.js(
            "document.querySelector('[name=\"hold:supine-hip-stretch\"]').getAttribute('aria-invalid')"
        )
        == "true"
    )
    # the voice field suggests the installed voices
    voices = page.js("[...document.querySelectorAll('#voice-ids option')].map(o => o.value)")
    assert "gmw/en-us" in voices
    assert page.js("document.querySelector('[name=voice]').getAttribute('list')") == "voice-ids"


# ---------------------------------------------------------------- last: it changes the export


@pytest.mark.slow
@pytest.mark.browser
def test_a_form_change_renders_the_same_files_as_export_with_those_options(
    running: Running, browser: Any, tmp_path: Path
) -> None:
    old = running.state()
    old_audio = running.get(old["audio"])[2]
    page = browser.page(390, 844)  # a page open meanwhile switches to the new export
    page.goto(f"http://127.0.0.1:{running.server.port}/{running.token}/")
    page.wait_for("document.querySelectorAll('#chapters button').length > 0")
    assert page.js("document.getElementById('audio').src").endswith(
        f"/audio/{old['generation']}.mp3"
    )
    status, answer = running.submit({"rest:adductor-ball-squeeze": "25", "verbosity": "minimal"})
    assert status == 202, answer
    status, busy = running.submit({"rate": "150"})  # one render at a time
    assert status == 409 and "already running" in busy["errors"][0]["message"]
    assert running.get(old["audio"])[2] == old_audio  # the old one plays meanwhile
    new = running.wait_rendered(old["generation"] + 1)
    assert new["command"] == (
        "voiceguide export --rest adductor-ball-squeeze=25 --verbosity minimal"
    )
    other = tmp_path / "cli"
    subprocess.run(
        [
            *VOICEGUIDE,
            "export",
            "--rest",
            "adductor-ball-squeeze=25",
            "--verbosity",
            "minimal",
            "--out",
            str(other),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, **running.env},
        timeout=300,
    )
    from_cli = _export_files(other)
    served = {
        d["name"]: running.get(d["url"])[2]
        for d in new["downloads"]
        if not d["name"].endswith(".zip")
    }
    assert served == from_cli
    assert _export_files(running.out_dir) == from_cli
    # the previous generation is still served, unchanged, for a page that has not switched
    assert running.get(old["audio"])[2] == old_audio
    form = new["form"]["values"]
    assert form["rest:adductor-ball-squeeze"] == "25" and form["verbosity"] == "minimal"
    page.wait_for(
        f"document.getElementById('audio').src.endsWith('/audio/{new['generation']}.mp3')"
    )
    page.wait_for("document.getElementById('render-text').textContent.startsWith('Done')")
    assert page.js("document.getElementById('command').textContent") == new["command"]
    # kept as the routine's saved settings: a restart (a new service, no options), export
    # and play get them, and the page says where they are
    kept = kept_path()  # this test's config folder (the server reads the environment)
    assert new["render"]["kept"] == str(kept)
    assert str(kept) in page.js("document.getElementById('render-text').textContent")
    restarted = Service(None, (), _prepare, export_render, tmp_path / "x", running.log.append)
    assert restarted.form_values() == form
    assert restarted.resolved.settings == running.service.resolved.settings
    rows = {(r.setting, r.exercise): str(r.source) for r in restarted.resolved.rows}
    assert rows[("rest", "adductor-ball-squeeze")] == f"saved from the phone ({kept})"
