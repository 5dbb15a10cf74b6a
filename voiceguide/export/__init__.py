"""Export: the timeline rendered to tagged MP3s (one per chapter and one of the whole
routine), lyrics, a playlist and a cover, published into a folder all at once."""

from typing import TYPE_CHECKING

from voiceguide.lazy import lazy_names

if TYPE_CHECKING:
    from voiceguide.export.encoder import Progress, find_program
    from voiceguide.export.names import safe_filename
    from voiceguide.export.publish import JOURNAL, MANIFEST
    from voiceguide.export.writer import (
        ExportOptions,
        ExportResult,
        Track,
        export_timeline,
        export_track,
    )

# imported when first asked for: an encoder worker imports its one module, not the export
__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "voiceguide.export.encoder": ("Progress", "find_program"),
        "voiceguide.export.names": ("safe_filename",),
        "voiceguide.export.publish": ("JOURNAL", "MANIFEST"),
        "voiceguide.export.writer": (
            "ExportOptions",
            "ExportResult",
            "Track",
            "export_timeline",
            "export_track",
        ),
    },
)

__all__ = [
    "JOURNAL",
    "MANIFEST",
    "ExportOptions",
    "ExportResult",
    "Progress",
    "Track",
    "export_timeline",
    "export_track",
    "find_program",
    "safe_filename",
]
