"""Stage 3, sound: the one audio format, loudness, the cue tones, and the streaming render
of a timeline into PCM (phrases come from any :class:`PhraseSource`), with a music bed
ducked under it (:class:`BedMix`)."""

from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.bed import BedMix, open_bed
from voiceguide.sound.render import CueSource, PhraseSource, render_events
from voiceguide.sound.tones import CueCache

__all__ = [
    "FORMAT",
    "AudioFormat",
    "BedMix",
    "CueCache",
    "CueSource",
    "PhraseSource",
    "open_bed",
    "render_events",
]
