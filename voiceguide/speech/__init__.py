"""Stage 3, speech: phrases synthesized offline by a speech engine behind one interface
(:class:`Synthesizer`; espeak-ng through pyttsx3 by default), in worker processes, and kept
in the :class:`PhraseCache` in the one audio format and loudness."""

from typing import TYPE_CHECKING

from voiceguide.lazy import lazy_names

if TYPE_CHECKING:
    from voiceguide.speech.base import Synthesizer
    from voiceguide.speech.cache import PhraseCache, default_cache_dir
    from voiceguide.speech.espeak import Pyttsx3Synthesizer

# imported when first asked for: a speech worker imports only what it runs
__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "voiceguide.speech.base": ("Synthesizer",),
        "voiceguide.speech.cache": ("PhraseCache", "default_cache_dir"),
        "voiceguide.speech.espeak": ("Pyttsx3Synthesizer",),
    },
)

__all__ = ["PhraseCache", "Pyttsx3Synthesizer", "Synthesizer", "default_cache_dir"]
