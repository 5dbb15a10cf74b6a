"""The layout: the folder shows the pipeline, and imports only run down it.

routine -> plan -> sound -> speech -> play / export / practice -> pipeline -> serve -> cli,
with ``errors``, ``files`` and ``lazy`` under everything and the development tools (``bench``) on top.
Read with ``ast`` (every import, also those inside functions), so nothing is imported.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "voiceguide"
STAGES = {
    "errors": 0,
    "files": 0,
    "lazy": 0,
    "routine": 1,
    "plan": 2,
    "sound": 3,
    "speech": 4,
    "play": 5,
    "export": 5,
    "practice": 5,
    "pipeline": 6,
    "serve": 7,
    "cli": 8,
    "bench": 9,
    "__init__": 10,
    "__main__": 10,
}
PURE = ("routine", "plan")  # no audio, speech, tagging or playback library in these
HEAVY = (
    "numpy",
    "scipy",
    "pydub",
    "pyttsx3",
    "piper",
    "onnxruntime",
    "hibari",
    "mutagen",
    "simpleaudio",
    "pyloudnorm",
    "PIL",
)
GUIDE_LINES = 400  # past this, a module is worth a second look
MAX_LINES = 600  # past this, it holds more than one concept


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def stage_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imports(path: Path) -> list[tuple[str, int, list[str]]]:
    """(module, line, imported names) of every import of the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno, [alias.name for alias in node.names]))
    return found


def test_every_stage_is_known() -> None:
    assert {stage_of(p) for p in modules()} <= set(STAGES)


def test_imports_only_run_down_the_pipeline() -> None:
    wrong = []
    for path in modules():
        here = stage_of(path)
        for module, line, names in imports(path):
            parts = module.split(".")
            if parts[0] != "voiceguide":
                continue
            targets = [parts[1]] if len(parts) > 1 else names
            for target in targets:
                if target not in STAGES or target == here:
                    continue
                if STAGES[target] >= STAGES[here]:
                    wrong.append(f"{path.relative_to(PACKAGE)}:{line} ({here}) imports {target}")
    assert wrong == []


def test_nothing_reaches_into_another_packages_private_names() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {name} from {module}"
        for path in modules()
        for module, line, names in imports(path)
        if module.startswith("voiceguide.") and module.split(".")[1] != stage_of(path)
        for name in names
        if name.startswith("_")
    ]
    assert wrong == []


@pytest.mark.parametrize("stage", PURE)
def test_the_pure_stages_import_no_audio_library(stage: str) -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in modules()
        if stage_of(path) == stage
        for module, line, _names in imports(path)
        if module.split(".")[0] in HEAVY
    ]
    assert wrong == []


def test_the_plan_reads_no_file_and_no_environment() -> None:
    """plan/ is values in, values out: the config file, phone.toml, the environment and the
    platform's folders are read by the caller (``pipeline/saved.py``)."""
    reading = ("os", "platformdirs", "voiceguide.files", "shutil", "sqlite3", "subprocess")
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in modules()
        if stage_of(path) == "plan"
        for module, line, _names in imports(path)
        if module in reading
    ]
    assert wrong == []


def test_module_size_follows_concepts() -> None:
    """A guide, not a rule to format around: over 400 lines is a warning to look at the
    module again, over 600 fails."""
    sizes = {
        str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
        for p in modules()
    }
    long = {name: n for name, n in sizes.items() if n > GUIDE_LINES}
    if long:
        warnings.warn(f"modules over {GUIDE_LINES} lines: {long}", stacklevel=1)
    assert {name: n for name, n in long.items() if n > MAX_LINES} == {}


def module_name(path: Path) -> str:
    name = ".".join(("voiceguide", *path.relative_to(PACKAGE).with_suffix("").parts))
    return name.removesuffix(".__init__")


def import_graph(everywhere: bool = False) -> dict[str, set[str]]:
    """The voiceguide modules each module imports: at its top level (run when it is
    imported), or ``everywhere`` (inside functions and type-checking blocks too).
    ``from package import module`` imports the module."""
    known = {module_name(path) for path in modules()}
    graph: dict[str, set[str]] = {}
    for path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: set[str] = set()
        for node in ast.walk(tree) if everywhere else tree.body:
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names} & known
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in known:
                edges.add(node.module)
                edges |= {f"{node.module}.{alias.name}" for alias in node.names} & known
        graph[module_name(path)] = edges
    return graph


def cycle_in(graph: dict[str, set[str]], within: str = "voiceguide") -> str | None:
    """A cycle among the modules named ``within`` or below it, drawn as a trail; None."""
    state: dict[str, int] = {}
    inside = [node for node in graph if node == within or node.startswith(within + ".")]

    def visit(node: str, trail: list[str]) -> str | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in inside:
                continue
            if state.get(nxt) == 1:
                # a package's face and its own modules are not a cycle back
                if not node.startswith(nxt + ".") and not nxt.startswith(node + "."):
                    return " -> ".join([*trail, node, nxt])
            elif nxt not in state:
                found = visit(nxt, [*trail, node])
                if found is not None:
                    return found
        state[node] = 2
        return None

    for node in inside:
        if node not in state:
            found = visit(node, [])
            if found is not None:
                return found
    return None


def test_no_import_cycle_between_modules() -> None:
    """Module-level imports (those run when a module is imported) form no cycle."""
    found = cycle_in(import_graph())
    assert found is None, found


def test_no_import_cycle_in_speech_even_inside_functions() -> None:
    """The speech package reads one way: its engines on the worker pool and the interface,
    never back, not even through an import deferred into a function."""
    found = cycle_in(import_graph(everywhere=True), "voiceguide.speech")
    assert found is None, found


def test_the_worker_pool_imports_no_engine() -> None:
    """``speech/workers.py`` runs any engine's workers: an engine names what they import
    ahead (``preload``), and the pool imports only the speech interface."""
    imported = import_graph(everywhere=True)["voiceguide.speech.workers"]
    speech = {module for module in imported if module.startswith("voiceguide.speech")}
    assert speech <= {"voiceguide.speech.base"}


def test_no_name_of_the_face_shadows_a_stage() -> None:
    """``voiceguide.plan`` and ``voiceguide.export`` stay the packages, whatever was imported."""
    import importlib

    face = importlib.import_module("voiceguide")
    assert not set(face.__all__) & set(STAGES)
    for stage in STAGES:
        if (PACKAGE / stage).is_dir():
            module = importlib.import_module(f"voiceguide.{stage}")
            assert getattr(face, stage) is module, stage
