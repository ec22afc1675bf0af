"""Load a YAML file into a pydantic model, with errors that name the file, line and key.

Used for every YAML file Storeflow reads (store layouts, edge agent configs), so a mistake in
any of them reads the same way::

    stores/demo.yaml:42: zones[3].kind: Input should be 'entrance', 'aisle', ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names file, line and key."""


def _locate(node: yaml.Node, loc: tuple[int | str, ...]) -> int:
    """1-based line of the YAML node at path ``loc`` (or of its deepest existing parent)."""
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:  # a missing key, or the tag a tagged union puts in the path
                continue
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_yaml(text: str, model: type[ModelT], *, source: str = "<string>") -> ModelT:
    """Validate YAML text against ``model``; raise :class:`ConfigError` naming line and key."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if node is None or data is None:
        raise ConfigError(f"{source}:1: the file is empty")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            lines.append(f"{source}:{_locate(node, loc)}: {_format_loc(loc)}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from exc


def error_at(path: Path | str, loc: tuple[int | str, ...], message: str) -> ConfigError:
    """A :class:`ConfigError` about the key at ``loc`` of the YAML file ``path``, for checks made
    after parsing (cross-references, duplicates): ``file:line: key: message``."""
    try:
        node = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        node = None
    line = _locate(node, loc) if node is not None else 1
    return ConfigError(f"{path}:{line}: {_format_loc(loc)}: {message}")


def load_yaml(path: Path | str, model: type[ModelT]) -> ModelT:
    """Read and validate a YAML file; a missing file is a :class:`ConfigError` too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_yaml(text, model, source=str(path))
