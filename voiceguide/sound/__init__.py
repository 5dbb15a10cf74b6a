"""Stage 3, sound: the one audio format, loudness, the cue tones, and the streaming render
of a timeline into PCM (phrases come from any :class:`PhraseSource`)."""

from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.render import CueSource, PhraseSource, render_events
from voiceguide.sound.tones import CueCache

__all__ = ["FORMAT", "AudioFormat", "CueCache", "CueSource", "PhraseSource", "render_events"]
