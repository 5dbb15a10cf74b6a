"""YAML as voiceguide means it: text, numbers, true/false, null, lists and mappings, nothing
else.

:func:`parse` builds only those. A value YAML would make into something else, or could not
make at all, becomes a :class:`Refused` in its place, which the loader reports per field
(file, line, field) instead of crashing or building an object:

- any other tag (``!!binary``, ``!!set``, ``!!timestamp``, ``!!python/...``, ``!mine``);
- a tagged value that is not what its tag says (``!!int "abc"``, ``!!bool maybe``,
  ``!!int 0o99``);
- a number longer than 64 characters (``settle_s: 999...`` of 4,401 digits: Python refuses
  to turn it into text, and no field takes one).

A date (``settle_s: 2001-02-30``) stays text, so it is "must be a number, got '2001-02-30'".
Anchors, aliases and ``<<`` merge keys work as in YAML.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, ClassVar

import yaml

__all__ = ["MAX_NUMBER_CHARS", "Refused", "compose", "parse", "refused_values"]

MAX_NUMBER_CHARS = 64
_YAML = "tag:yaml.org,2002:"
_IMPLICIT = {_YAML + kind for kind in ("null", "bool", "int", "float", "merge")}
_TAKES = "only text, numbers, lists and mappings"


class Refused:
    """A value voiceguide does not take, where it was (``line``) and why (``reason``)."""

    __slots__ = ("line", "reason")

    def __init__(self, node: yaml.Node, reason: str) -> None:
        self.line = int(node.start_mark.line) + 1
        self.reason = reason

    def __repr__(self) -> str:
        return "<refused value>"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with only the plain types (see the module's docstring)."""

    yaml_constructors: ClassVar[dict[Any, Any]] = {}  # only those added below

    def _number(self, node: yaml.ScalarNode, what: str, build: Any) -> Any:
        text = str(self.construct_scalar(node))
        if len(text) > MAX_NUMBER_CHARS:
            return Refused(
                node, f"is a number {len(text):,} characters long; no field takes one so long"
            )
        try:
            return build(self, node)
        except (ValueError, IndexError, OverflowError):
            return Refused(node, f"is tagged !!{what} but is not one")

    def construct_plain_int(self, node: yaml.ScalarNode) -> Any:
        return self._number(node, "int (a whole number)", yaml.SafeLoader.construct_yaml_int)

    def construct_plain_float(self, node: yaml.ScalarNode) -> Any:
        return self._number(node, "float (a number)", yaml.SafeLoader.construct_yaml_float)

    def construct_plain_bool(self, node: yaml.ScalarNode) -> Any:
        value = self.bool_values.get(str(self.construct_scalar(node)).lower())
        if value is None:
            return Refused(node, "is tagged !!bool but is not true or false")
        return value

    def construct_other(self, node: yaml.Node) -> Any:
        return Refused(
            node, f"has the tag {_tag(str(node.tag))}, which voiceguide does not take ({_TAKES})"
        )


for _kind, _build in (
    ("null", yaml.SafeLoader.construct_yaml_null),
    ("bool", _Loader.construct_plain_bool),
    ("int", _Loader.construct_plain_int),
    ("float", _Loader.construct_plain_float),
    ("str", yaml.SafeLoader.construct_yaml_str),
    ("seq", yaml.SafeLoader.construct_yaml_seq),
    ("map", yaml.SafeLoader.construct_yaml_map),
):
    _Loader.add_constructor(_YAML + _kind, _build)
_Loader.add_constructor(None, _Loader.construct_other)  # every other tag
_Loader.yaml_implicit_resolvers = {  # no timestamps, no '=' value key: those stay text
    first: [(tag, regexp) for tag, regexp in resolvers if tag in _IMPLICIT]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse(text: str) -> Any:
    """The document in ``text``, built of the plain types and :class:`Refused` values.
    Raises what PyYAML raises for malformed YAML (and RecursionError when nested too deeply).
    Built from :func:`compose`'s tree: a file is scanned once for its data and lines."""
    node = compose(text)
    if node is None:
        return None
    if _rewritten_when_built(node):
        node = copy.deepcopy(node)
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


@functools.lru_cache(maxsize=16)
def compose(text: str) -> yaml.Node | None:
    """The document's node tree (for lines and duplicate keys), resolved as :func:`parse` does;
    the same tree for the same text (composed once): it must not be changed."""
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _rewritten_when_built(root: yaml.Node) -> bool:
    """Whether building the tree changes it: PyYAML flattens a mapping with merge keys (and
    retags ``!!value`` keys) in place."""
    rewritten = (_YAML + "merge", _YAML + "value")
    stack, seen = [root], set()
    while stack:  # iterative, visiting shared (aliased) nodes once
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.tag in rewritten:
                    return True
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return False


def refused_values(data: dict[Any, Any]) -> list[tuple[Any, Refused]]:
    """Every :class:`Refused` key or value in a document's mapping, with the top-level key it
    is under (or is), in file order."""
    found: list[tuple[Any, Refused]] = []
    for key, value in data.items():
        stack, seen = [value, key], set()
        while stack:  # iterative, visiting shared (aliased) values once
            item = stack.pop()
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, Refused):
                found.append((key, item))
            elif isinstance(item, dict):
                for pair in reversed(list(item.items())):
                    stack += [pair[1], pair[0]]
            elif isinstance(item, list):
                stack += reversed(item)
    return sorted(found, key=lambda pair: pair[1].line)


def _tag(tag: str) -> str:
    short = tag.replace(_YAML, "!!", 1) if tag.startswith(_YAML) else tag
    escaped = short.encode("unicode_escape").decode("ascii")
    return escaped if len(escaped) <= 32 else escaped[:29] + "..."
