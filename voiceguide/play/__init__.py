"""Live playback: the timeline rendered just ahead of a sound device, with controls.

:class:`LivePlayback` runs a plan on a :class:`Player` (the sound device; simpleaudio's by
default, :class:`SimpleaudioPlayer`), taking :class:`Command` s and reporting a
:class:`Status`.
"""

from voiceguide.play.device import Clock, Player, PlayHandle, SystemClock
from voiceguide.play.player import LivePlayback
from voiceguide.play.simpleaudio_player import SimpleaudioPlayer
from voiceguide.play.state import Command, PlanStage, State, Status

__all__ = [
    "Clock",
    "Command",
    "LivePlayback",
    "PlanStage",
    "PlayHandle",
    "Player",
    "SimpleaudioPlayer",
    "State",
    "Status",
    "SystemClock",
]
