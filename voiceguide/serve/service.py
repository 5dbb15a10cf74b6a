"""What the server serves: the current export (and the one before it, until every page has
switched), its description for the page, and the settings form, which re-renders with the
command line's own parsing and checks, one render at a time."""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from voiceguide.errors import Interrupted, VoiceguideError
from voiceguide.pipeline.saved import keep
from voiceguide.plan.catalog import SETTINGS
from voiceguide.plan.parsing import typed_number
from voiceguide.plan.preferences import Resolved
from voiceguide.plan.settings import apply_settings
from voiceguide.routine.model import ExerciseKind, Routine
from voiceguide.serve.form import error_answer, field_of, plain, what
from voiceguide.serve.snapshot import Snapshot, open_snapshot

__all__ = ["Prepare", "Render", "Service"]

Prepare = Callable[[Sequence[str]], tuple[Routine, Resolved]]
"""The routine and its settings from command-line options (``["--hold=45"]``), parsed and
checked exactly as ``voiceguide export`` does; raises the CLI's error (an InputError)."""

Render = Callable[[Routine, Resolved, Path, Callable[[int, int], None]], None]
"""Export ``routine`` with ``resolved`` into the folder, reporting (ms done, ms in all)."""

Keep = Callable[[str, Mapping[str, str]], Path]
"""Keep a render's changed form fields as the routine's saved settings; where (OSError)."""

# the form's fields of one exercise: (option, the exercise's field), by the exercise's kind
FIELDS_PER_KIND = {
    kind: tuple((s.name, s.attribute) for s in SETTINGS if kind in s.exercise_kinds)
    for kind in ExerciseKind
}
# the form's fields of the whole routine
_ROUTINE_FIELDS = tuple(s for s in SETTINGS if s.on_form and not s.per_exercise)
_PER_EXERCISE = frozenset(s.name for s in SETTINGS if s.per_exercise)
_MAX_FIELDS = 200
_KEEP_OLD_S = 600.0  # the export before the current one stays served this long


class Service:
    """The state behind the server. ``args`` are the settings options the server was
    started with; the form adds to them (a later value of an option replaces an earlier)."""

    def __init__(
        self,
        routine_arg: str | None,
        args: Sequence[str],
        prepare: Prepare,
        render: Render,
        out_dir: Path,
        log: Callable[[str], None],
        keep: Keep = keep,
    ) -> None:
        self.routine_arg = routine_arg
        self._keep = keep
        self._prepare = prepare
        self._render = render
        self.out_dir = out_dir
        self.log = log
        self._lock = threading.Lock()
        self._args: dict[str, str] = {}
        for arg in args:
            self._args[self._key(arg)] = arg
        self.routine, self.resolved = prepare(list(self._args.values()))
        self._snapshots: dict[int, tuple[Snapshot, float]] = {}
        self._current: Snapshot | None = None
        self._status: dict[str, Any] = {"state": "idle"}
        self._worker: threading.Thread | None = None
        self._cancel = threading.Event()
        self._voices: list[str] | None = None
        self._renders = 0  # renders started: each has its number, so a page knows its own

    # ------------------------------------------------------------ the export being served

    @staticmethod
    def _key(arg: str) -> str:
        """What an option sets: ``--hold=a=30`` -> ``hold:a``; ``--rate=150`` -> ``rate``."""
        option, _, value = arg.removeprefix("--").partition("=")
        if option in _PER_EXERCISE:
            exercise, sep, _ = value.partition("=")
            return f"{option}:{exercise}" if sep else f"{option}:*"
        return option

    def publish(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._publish(snapshot)

    def _publish(self, snapshot: Snapshot) -> None:
        now = time.monotonic()
        if self._current is not None:
            self._snapshots[self._current.generation] = (self._current, now)
        self._current = snapshot
        self._snapshots[snapshot.generation] = (snapshot, now)
        for generation, (old, replaced) in list(self._snapshots.items()):
            if old is not snapshot and (
                now - replaced > _KEEP_OLD_S or generation < snapshot.generation - 1
            ):
                del self._snapshots[generation]
                old.close()

    def start(self, progress: Callable[[int, int], None], is_current: Callable[[], bool]) -> bool:
        """Serve the export in the folder when it is current (True), else export first."""
        reused = is_current()
        if not reused:
            self._render(self.routine, self.resolved, self.out_dir, progress)
        self.open_current()
        return reused

    def open_current(self) -> Snapshot:
        """Open what is in the export folder now as the next generation, and serve it."""
        generation = self._current.generation + 1 if self._current is not None else 1
        snapshot = open_snapshot(self.out_dir, generation, self.log)
        self.publish(snapshot)
        return snapshot

    @property
    def current(self) -> Snapshot:
        assert self._current is not None, "nothing published yet"
        return self._current

    def snapshot(self, generation: int) -> Snapshot | None:
        with self._lock:
            entry = self._snapshots.get(generation)
            return entry[0] if entry is not None else None

    def close(self) -> None:
        self._cancel.set()
        worker = self._worker
        if worker is not None:
            worker.join(timeout=10)
        with self._lock:
            for snapshot, _ in self._snapshots.values():
                snapshot.close()
            self._snapshots.clear()

    # ------------------------------------------------------------ what the page shows

    def command(self) -> str:
        """The export command that makes the export being served."""
        words = ["voiceguide", "export"]
        if self.routine_arg is not None:
            words.append(self.routine_arg)
        for arg in self._args.values():
            option, _, value = arg.partition("=")
            words += [option, value]
        return shlex.join(words)

    def form_values(self) -> dict[str, str]:
        """Every form field's value as the command line would take it."""
        settings = self.resolved.settings
        values: dict[str, str] = {}
        applied = apply_settings(self.routine, dataclasses.replace(settings, fit_s=None))
        for exercise in applied.exercises:
            for option, attribute in FIELDS_PER_KIND[exercise.kind]:
                values[f"{option}:{exercise.id}"] = typed_number(getattr(exercise, attribute))
        for declared in _ROUTINE_FIELDS:
            values[declared.name] = declared.typed(getattr(settings, declared.attribute))
        return values

    def state(self) -> dict[str, Any]:
        with self._lock:
            snapshot = self.current
            values = self.form_values()
            status = dict(self._status)
            command = self.command()
            rows = self.resolved.rows
        exercises = []
        for exercise in self.routine.exercises:
            exercises.append(
                {
                    "id": exercise.id,
                    "title": exercise.title,
                    "kind": str(exercise.kind),
                    "fields": [
                        {
                            "option": option,
                            "name": f"{option}:{exercise.id}",
                            "value": values[f"{option}:{exercise.id}"],
                        }
                        for option, _attribute in FIELDS_PER_KIND[exercise.kind]
                    ],
                }
            )
        files = snapshot.files
        base = f"files/{snapshot.generation}/"
        tracks = [n for n in sorted(files) if n.endswith(".mp3")]
        others = [n for n in sorted(files) if not n.endswith(".mp3")]
        return {
            "generation": snapshot.generation,
            "title": self.routine.title,
            "album": snapshot.album,
            "duration_s": round(snapshot.duration_s, 3),
            "fingerprint": snapshot.fingerprint,
            "cover": f"cover/{snapshot.generation}.jpg" if snapshot.cover_png else None,
            "audio": f"audio/{snapshot.generation}.mp3",
            "track": base + _quote(snapshot.full),
            "chapters": [
                {"title": c.title, "start_s": c.start_ms / 1000, "end_s": c.end_ms / 1000}
                for c in snapshot.chapters
            ],
            "lyrics": [{"start_s": x.start_ms / 1000, "text": x.text} for x in snapshot.lyrics],
            "downloads": [
                {"name": n, "url": base + _quote(n), "bytes": files[n].size}
                for n in (*tracks, *others)
            ]
            + [
                {
                    "name": snapshot.zip_name,
                    "url": f"zip/{snapshot.generation}/" + _quote(snapshot.zip_name),
                    "bytes": None,
                    # the MP3s are stored as they are: the zip is about the files' size
                    "about_bytes": sum(f.size for f in files.values()),
                }
            ],
            "settings": [
                {
                    "setting": r.setting,
                    "exercise": r.exercise,
                    "value": r.value,
                    "from": str(r.source),
                }
                for r in rows
                if r.setting != "bitrate"
            ],
            "command": command,
            "form": {
                "exercises": exercises,
                "values": values,
                "voices": self.voices(),
            },
            "render": status,
        }

    # ------------------------------------------------------------ the settings form

    def voices(self) -> list[str]:
        """The ids ``--voice`` takes (suggestions for the form; the CLI's checks decide)."""
        if self._voices is None:
            try:
                from voiceguide.speech.voices import installed_voices

                self._voices = [v.id for v in installed_voices()]
            except Exception:  # no speech engine to ask: no suggestions
                self._voices = []
        return self._voices

    def submit(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """A settings form, as (HTTP status, JSON body). Changed fields become command-line
        options; each is checked alone (so an error names its field), then all together;
        then one render starts."""
        if len(form) > _MAX_FIELDS:
            return 400, error_answer([(None, "too many fields")])
        values = self.form_values()
        unknown = [name for name in form if name not in values and name != "generation"]
        if unknown:
            return 400, error_answer([(None, f"unknown field {unknown[0]!r}")])
        if form.get("generation") != str(self.current.generation):
            return 409, error_answer(
                [
                    (
                        None,
                        "The settings were changed from another phone meanwhile: "
                        "check them and send again.",
                    )
                ]
            )
        changed = {
            name: value for name, value in form.items() if name in values and value != values[name]
        }
        if not changed:
            return 200, {"rendering": False, "message": "nothing changed"}
        if self.rendering():
            return 409, error_answer([(None, self._busy())])
        new = dict(self._args)
        errors: list[tuple[str | None, str]] = []
        for name, value in changed.items():
            option, _, exercise = name.partition(":")
            arg = f"--{option}={exercise}={value}" if exercise else f"--{option}={value}"
            key = self._key(arg)
            try:
                self._prepare([*self._args.values(), arg])
            except VoiceguideError as error:
                errors.append((name, plain(name, str(error))))
                continue
            new.pop(key, None)
            new[key] = arg
        if errors:
            return 400, error_answer(errors)
        try:
            routine, resolved = self._prepare(list(new.values()))
        except VoiceguideError as error:
            return 400, error_answer([(None, str(error))])
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return 409, error_answer([(None, self._busy(locked=True))])
            self._renders += 1
            self._status = {
                "id": self._renders,
                "state": "rendering",
                "progress": 0.0,
                "started": time.time(),
                "what": what(changed),
            }
            self._worker = threading.Thread(
                target=self._run,
                args=(routine, resolved, new, changed),
                name="render",
                daemon=True,
            )
            self._worker.start()
        return 202, {"rendering": True, "id": self._renders}

    def _busy(self, locked: bool = False) -> str:
        """Who is waiting for what: the render under way, for the form that asked for
        another."""
        with contextlib.nullcontext() if locked else self._lock:
            status = dict(self._status)
        done = round(100 * float(status.get("progress", 0.0)))
        what = status.get("what") or "new settings"
        return (
            f"A render is already running ({what}, {done} % done): send yours again when it "
            "has finished."
        )

    def rendering(self) -> bool:
        with self._lock:
            return self._worker is not None and self._worker.is_alive()

    def _run(
        self,
        routine: Routine,
        resolved: Resolved,
        args: dict[str, str],
        changed: Mapping[str, str],
    ) -> None:
        def progress(done_ms: int, total_ms: int) -> None:
            if self._cancel.is_set():
                raise Interrupted()
            with self._lock:
                self._status["progress"] = round(done_ms / max(total_ms, 1), 4)

        started = time.monotonic()
        try:
            self._render(routine, resolved, self.out_dir, progress)
            snapshot = open_snapshot(self.out_dir, self.current.generation + 1, self.log)
        except VoiceguideError as error:
            with self._lock:
                self._status = {
                    "id": self._renders,
                    "state": "failed",
                    "error": plain(field_of(str(error)), str(error)),
                    "field": field_of(str(error)),
                }
            if not isinstance(error, Interrupted):
                self.log(f"render failed: {error}")
            return
        except Exception as error:  # a bug: the server goes on with the previous export
            with self._lock:
                self._status = {
                    "id": self._renders,
                    "state": "failed",
                    "error": f"internal error: {error!r}",
                }
            self.log(f"render failed: internal error: {error!r}")
            return
        try:  # what plays is kept for a restart, export and play: changed fields only
            kept: str | None = str(self._keep(routine.name, changed))
        except OSError as error:
            kept = None
            self.log(f"the settings could not be kept: {error.strerror or error}")
        with self._lock:
            self.routine, self.resolved, self._args = routine, resolved, args
            self._publish(snapshot)
            self._status = {
                "id": self._renders,
                "state": "done",
                "seconds": round(time.monotonic() - started, 1),
                "kept": kept,
            }
        self.log(f"rendered generation {self.current.generation}: {self.command()}")


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
