"""Live playback: the timeline rendered just ahead of a sound device, with controls.

Compile, then execute: the engine plays a timeline's events rendered by the renderer export
uses, so the device plays what export writes, sample for sample (how: :mod:`.stream`). It
decides no timing of its own: it moves only to the starts of the timeline's sections (a
chapter's opening, a side, a set) and to the frame where the listener paused. A plan may
arrive in stages (:class:`PlanStage`): playback starts on the part that is final.

Threads: :meth:`LivePlayback.run` runs the engine in the calling thread (so Ctrl-C reaches
it); :meth:`~LivePlayback.send` (keys), :meth:`~LivePlayback.offer` (a later plan stage) and
:meth:`~LivePlayback.status` (the display) may be called from any thread.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable

from voiceguide.errors import PlaybackError
from voiceguide.plan.timeline import Timeline
from voiceguide.play.device import Clock, Player, PlayHandle, SystemClock
from voiceguide.play.state import Command, Message, PlanStage, State, Status
from voiceguide.play.stream import Index, Renderer, Stream, bedded
from voiceguide.sound.acks import ACK_MS, Ack, ack_pcm
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.bed import BedMix
from voiceguide.sound.render import CueSource, PhraseSource

__all__ = ["LivePlayback"]

LOOKAHEAD_MS = 10_000  # rendered ahead of the device
INITIAL_MS = 1_500  # rendered before a stream starts
CUT_MARGIN_MS = 60  # a cut lands this far beyond what the device may have read
STOP_MARGIN_MS = 40  # a stream is stopped this long after its last frame to be heard
PREROLL_GAP_MS = 150  # quiet between an acknowledgement and the content it leads into
LEAD_IN_MS = 30  # quiet before the content of a stream: a device may lose its first frames
BACK_TWICE_S = 2.5  # a second "back" within this time goes to the previous section
MAX_WAKE_S = 1.0  # the engine looks at the device at least this often
DRAIN_WAIT_S = 1.0  # at the end, how long the device may take to play out what it holds
TRIM_BEHIND_MS = 5_000  # played audio older than this is dropped from memory


class LivePlayback:
    """Plays a timeline through a :class:`Player`, controlled by :class:`Command` messages."""

    def __init__(
        self,
        plan: PlanStage | Timeline,
        phrases: PhraseSource,
        player: Player,
        *,
        start_ms: int = 0,
        cues: CueSource | None = None,
        clock: Clock | None = None,
        fmt: AudioFormat = FORMAT,
        bed: BedMix | None = None,
    ) -> None:
        self._stage, self._bed = bedded(plan, bed)  # bed: music under the voice (--bed)
        self._index = Index(self._stage.timeline)
        self._phrases, self._cues, self._player, self._fmt = phrases, cues, player, fmt
        self._clock: Clock = clock or SystemClock()
        self._inbox: queue.Queue[Message] = queue.Queue()
        self._deferred: list[Message] = []
        self._lock = threading.Lock()  # guards what status() reads
        self._state = State.STARTING
        self._stream: Stream | None = None
        self._retired: list[tuple[PlayHandle, Stream | bytearray]] = []
        self._paused_frame = fmt.frames(start_ms)
        self._last_back_s = -math.inf
        self.segments: list[tuple[int, int]] = []  # content frames played, stream by stream
        self.first_sound_s: float | None = None  # when the first stream started (clock time)

    # ---- any thread

    def send(self, command: Command) -> None:
        self._inbox.put((command, self._clock.now()))

    def offer(self, stage: PlanStage) -> None:
        """A later stage of the plan (from the thread that synthesizes the rest)."""
        self._inbox.put(stage)

    def fail(self, error: BaseException) -> None:
        """Make :meth:`run` raise ``error`` (from a helper thread that failed)."""
        self._inbox.put(error)

    def status(self) -> Status:
        with self._lock:
            state, stream, index = self._state, self._stream, self._index
            frame: float = self._paused_frame
            final = self._stage.final
            if state is State.PLAYING and stream is not None:
                frame = max(stream.start_frame, stream.position(self._clock.now()))
        total = index.timeline.total_ms if final else None
        ms = min(self._fmt.ms(int(frame)), total if total is not None else math.inf)
        return index.status(state, int(ms), total)

    # ---- the engine

    def run(self, on_start: Callable[[], None] | None = None) -> None:
        """Play to the end, or until stopped; raises PlaybackError if the device fails.
        ``on_start`` is called once the first sound is on its way."""
        try:
            self._start(self._paused_frame, None)
            if on_start is not None:
                on_start()
            while self._state not in (State.DONE, State.STOPPED):
                timeout = self._tick()
                if self._state in (State.DONE, State.STOPPED):
                    break
                if self._deferred:
                    message: Message | None = self._deferred.pop(0)
                else:
                    message = self._clock.wait(self._inbox, timeout)
                if message is not None:
                    self._handle(message)
        finally:
            self._shutdown()

    def _handle(self, message: Message) -> None:
        if isinstance(message, BaseException):
            raise message
        if isinstance(message, PlanStage):
            self._accept(message)
            return
        command, sent_s = message
        if command is Command.TOGGLE:
            playing = self._state in (State.PLAYING, State.WAITING)
            command = Command.PAUSE if playing else Command.RESUME
        if command is Command.PAUSE:
            if self._state is State.PLAYING:
                self._pause(Ack.PAUSE, State.PAUSED)
            elif self._state is State.WAITING:
                self._set(State.PAUSED)
                self._ack_alone(Ack.PAUSE)
        elif command is Command.RESUME:
            if self._state in (State.PAUSED, State.WAITING):
                self._start(self._paused_frame, Ack.RESUME)
        elif command in (Command.NEXT, Command.BACK):
            self._seek(command, sent_s)
        elif command is Command.STOP:
            self._stop()

    def _set(self, state: State) -> None:
        with self._lock:
            self._state = state

    def _stopped(self) -> bool:
        return self._state is State.STOPPED

    def _end_frame(self) -> int | None:
        return self._fmt.frames(self._stage.timeline.total_ms) if self._stage.final else None

    def _accept(self, stage: PlanStage, resume: bool = True) -> None:
        old, (stage, self._bed) = self._stage, bedded(stage, self._bed)
        if stage.timeline.events[: old.ready_events] != old.timeline.events[: old.ready_events]:
            raise PlaybackError("the plan changed while playing (a bug in voiceguide)")
        with self._lock:
            self._stage = stage
            self._index = Index(stage.timeline)
        if resume and self._state is State.WAITING and stage.ready_events > old.ready_events:
            self._start(self._paused_frame, None)

    def _await(self, frame: int) -> None:
        """Block until the plan is final up to ``frame`` (or entirely); Stop still works."""
        while not self._stage.final and self._fmt.frames(self._stage.ready_ms) < frame:
            message = self._clock.wait(self._inbox, MAX_WAKE_S)
            if message is None:
                continue
            if isinstance(message, BaseException):
                raise message
            if isinstance(message, PlanStage):
                self._accept(message, resume=False)
            elif message[0] is Command.STOP:
                self._set(State.STOPPED)
                return
            else:
                self._deferred.append(message)

    # ---- streams

    def _start(self, frame: int, ack: Ack | None) -> None:
        """Start a stream at ``frame`` (after the acknowledgement sound, if any)."""
        fmt = self._fmt
        self._await(frame + fmt.frames(INITIAL_MS))
        if self._stopped():
            return
        end = self._end_frame()
        if end is not None and frame >= end:
            self._finish(State.DONE, end)
            return
        bound = fmt.frames(max(self._stage.bound_ms, self._stage.ready_ms))
        lead = ack_pcm(ack, fmt) if ack is not None else b""
        preroll = lead + bytes(fmt.frames(PREROLL_GAP_MS if ack else LEAD_IN_MS) * fmt.frame_bytes)
        events = self._stage.timeline.events
        renderer = Renderer(events, frame, self._phrases, self._cues, fmt)
        stream = Stream(frame, preroll, (end if end is not None else bound) - frame, renderer, fmt)
        self._render(stream, frame + fmt.frames(INITIAL_MS))
        stream.edge(frame, rising=True, on=self._bed is not None and frame > 0)
        try:
            stream.handle = self._player.play(stream.view, fmt)
        except BaseException:
            stream.release()
            raise
        stream.started_s = self._clock.now()
        if self.first_sound_s is None:
            self.first_sound_s = stream.started_s
        with self._lock:
            self._stream = stream
            self._state = State.PLAYING

    def _render(self, stream: Stream, until_frame: float) -> None:
        fb = self._fmt.frame_bytes
        while stream.rendered < min(until_frame, stream.end_frame) and stream.cut_frame is None:
            chunk = stream.renderer.next_chunk(
                self._stage.timeline.events, self._stage.ready_events, self._bed
            )
            if chunk is None:
                return
            stream.write(stream.rendered, chunk)
            stream.rendered = min(stream.end_frame, stream.rendered + len(chunk) // fb)

    def _tick(self) -> float:
        """Render ahead, notice the end or a failed device; returns when to look again."""
        self._reap()
        stream = self._stream
        if self._state is not State.PLAYING or stream is None or stream.handle is None:
            return MAX_WAKE_S
        fmt = self._fmt
        now = self._clock.now()
        position = stream.position(now)
        self._render(stream, position + fmt.frames(LOOKAHEAD_MS))
        stream.trim(position - fmt.frames(TRIM_BEHIND_MS))
        end = self._end_frame()
        if end is not None and position >= end:
            # the device has read every frame; it plays out what it holds before it stops
            self._finish(State.DONE, end)
            return MAX_WAKE_S
        if not stream.handle.is_playing():
            if stream.rendered >= stream.end_frame and position >= stream.end_frame - fmt.frames(
                500
            ):
                # the plan outgrew the buffer's bound: go on in a new stream
                self._retire(stream, stream.end_frame)
                self._start(stream.end_frame, None)
                return 0.0
            raise PlaybackError(
                "the sound device stopped playing (was it unplugged or taken by another "
                "program?); 'voiceguide export' makes MP3s to play instead"
            )
        guard = fmt.frames(self._player.read_ahead_ms + CUT_MARGIN_MS + 250)
        if not self._stage.final and stream.rendered < min(position + guard, stream.end_frame):
            # the next phrases are not synthesized yet: pause at the last final frame
            self._pause(None, State.WAITING)
            return MAX_WAKE_S
        wake = MAX_WAKE_S
        if stream.rendered < min(stream.end_frame, fmt.frames(self._stage.ready_ms)):
            render_at = stream.time_of(stream.rendered - fmt.frames(LOOKAHEAD_MS // 2))
            wake = min(wake, render_at - now)
        if end is not None:
            wake = min(wake, stream.time_of(end) - now)
        return max(0.01, wake)

    def _cut(self, stream: Stream, ack: Ack | None) -> int:
        """End the stream's content at the first frame the device cannot have read yet,
        with ``ack`` sounding there; returns that frame once the device has played it."""
        fmt = self._fmt
        assert stream.handle is not None
        position = stream.position(self._clock.now())
        frame = math.ceil(position) + fmt.frames(self._player.read_ahead_ms + CUT_MARGIN_MS)
        frame = max(frame, stream.start_frame)
        self._render(stream, frame)
        frame = min(frame, stream.rendered)
        stream.edge(frame, rising=False, on=self._bed is not None)
        tail = ack_pcm(ack, fmt) if ack is not None else b""
        stream.write(frame, tail)
        silence_from = frame + len(tail) // fmt.frame_bytes
        if stream.rendered > silence_from:
            stream.write(silence_from, bytes((stream.rendered - silence_from) * fmt.frame_bytes))
        stream.cut_frame = frame
        heard = stream.time_of(min(silence_from, stream.end_frame)) + STOP_MARGIN_MS / 1000
        self._clock.sleep(heard - self._clock.now())
        self._retire(stream, frame)
        return frame

    def _retire(self, stream: Stream, content_end: int) -> None:
        assert stream.handle is not None
        stream.handle.stop()
        self.segments.append((stream.start_frame, content_end))
        self._retired.append((stream.handle, stream))
        with self._lock:
            if self._stream is stream:
                self._stream = None

    def _reap(self) -> None:
        """Free the buffers of streams the device is done with."""
        for item in list(self._retired):
            handle, buffer = item
            if not handle.is_playing():
                self._retired.remove(item)
                if isinstance(buffer, Stream):
                    buffer.release()

    def _ack_alone(self, ack: Ack) -> None:
        """Play an acknowledgement on its own (while paused)."""
        data = bytearray(ack_pcm(ack, self._fmt))
        handle = self._player.play(memoryview(data), self._fmt)
        self._retired.append((handle, data))

    # ---- the controls

    def _pause(self, ack: Ack | None, state: State) -> None:
        assert self._stream is not None
        frame = self._cut(self._stream, ack)
        with self._lock:
            self._paused_frame = frame
            self._state = state

    def _position(self, at_s: float) -> int:
        """The content frame playing at clock time ``at_s`` (or where playback is paused)."""
        stream = self._stream
        if self._state is State.PLAYING and stream is not None:
            return max(stream.start_frame, int(stream.position(at_s)))
        return self._paused_frame

    def _seek(self, command: Command, sent_s: float) -> None:
        if self._state not in (State.PLAYING, State.PAUSED, State.WAITING):
            return
        fmt = self._fmt
        ms = fmt.ms(self._position(sent_s))
        playing = self._state is State.PLAYING and self._stream is not None
        if self._stream is not None:
            frame = self._cut(self._stream, None)  # the sound stops here
            with self._lock:
                self._paused_frame = frame
        if not self._stage.final:  # section starts after the final part may still move
            self._await(fmt.frames(self._stage.timeline.total_ms))
            if self._stopped():
                return
        timeline = self._stage.timeline
        i = self._index.section_index(ms)
        if command is Command.NEXT:
            ack = Ack.NEXT
            target_ms = (
                timeline.sections[i + 1].start_ms if i + 1 < len(timeline.sections) else None
            )
        else:
            ack = Ack.BACK
            if sent_s - self._last_back_s < BACK_TWICE_S:
                i = max(0, i - 1)
            self._last_back_s = sent_s
            target_ms = timeline.sections[i].start_ms if timeline.sections else 0
        if target_ms is None:  # past the last section: the end
            self._ack_alone(ack)
            self._clock.sleep(ACK_MS[ack] / 1000 + 0.1)
            self._finish(State.DONE, fmt.frames(timeline.total_ms))
        elif playing:
            self._start(fmt.frames(target_ms), ack)
        else:
            self._ack_alone(ack)
            with self._lock:
                self._paused_frame = fmt.frames(target_ms)
                self._state = State.PAUSED

    def _stop(self) -> None:
        if self._state is State.PLAYING and self._stream is not None:
            frame = self._cut(self._stream, Ack.STOP)
        else:
            frame = self._paused_frame
            self._ack_alone(Ack.STOP)
            self._clock.sleep(ACK_MS[Ack.STOP] / 1000 + 0.1)
        self._finish(State.STOPPED, frame)

    def _finish(self, state: State, frame: int) -> None:
        """Playback is over (``frame``: where)."""
        stream = self._stream
        if stream is not None and stream.handle is not None:
            self._retire(stream, min(stream.rendered, frame))
        with self._lock:
            self._paused_frame = frame
            self._state = state

    def _shutdown(self) -> None:
        """Stop every sound now (also on errors and Ctrl-C) and free the buffers."""
        stream = self._stream
        if stream is not None and stream.handle is not None:
            # silence what the device has not read yet, so the sound ends within its read-ahead
            fmt = self._fmt
            frame = math.ceil(stream.position(self._clock.now())) + fmt.frames(
                self._player.read_ahead_ms + CUT_MARGIN_MS
            )
            frame = max(frame, stream.start_frame)
            if stream.rendered > frame:
                stream.write(frame, bytes((stream.rendered - frame) * fmt.frame_bytes))
            stream.cut_frame = frame
            self._retire(stream, min(frame, stream.rendered))
        for handle, _buffer in self._retired:
            handle.stop()
        deadline = self._clock.now() + DRAIN_WAIT_S
        while self._retired and self._clock.now() < deadline:
            self._reap()
            if self._retired:
                self._clock.sleep(0.02)
        if self._state not in (State.DONE, State.STOPPED):
            self._set(State.STOPPED)
