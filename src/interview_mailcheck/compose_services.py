"""A compose file's documents as services: `environment:`, `env_file:` and `extends:` read
from the typed values, and how two definitions of a service merge.

What it follows, from the Compose Specification (compose-spec/compose-spec):

- 05-services.md, environment: "environment can use either an array or a map. Any boolean
  values; true, false, yes, no, should be enclosed in quotes ..." and "Environment variables can
  be declared by a single key (no value to equals sign)" (a None value here, resolved later).
- 05-services.md, env_file: a path, a list, or the long syntax (`path`, `required`, `format`);
  "Relative path are resolved from the Compose file's parent folder."
- 12-interpolation.md: "Interpolation applies only to YAML values, not to keys" (the list form
  `- KEY=$V` is one value, so there the key is interpolated too).
- 05-services.md, extends: "Mappings: Keys in mappings of the main service definition override
  keys in mappings of the referenced service definition" (environment is one of them), env_file
  in list syntax is a sequence: "Items are combined together into a new sequence ... the
  referenced items coming first".
- 13-merge.md: `!reset` and `!override`, as they act within one file.
- 11-extension.md: top-level `x-` fields ("Compose ignores any fields that start with x-").

Pure: adapters/compose.py reads the files and resolves each service's environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from interview_mailcheck.compose_envfile import GO_SPACE
from interview_mailcheck.compose_interpolation import Lookup, Ref, Warnings, interpolate
from interview_mailcheck.compose_yaml import (
    Loc,
    Map,
    ResetPath,
    Scalar,
    Seq,
    Value,
    go_format_float,
)
from interview_mailcheck.errors import InputError

TOP_LEVEL_KEYS = frozenset(
    {
        "version",
        "name",
        "include",
        "services",
        "models",
        "networks",
        "volumes",
        "secrets",
        "configs",
    }
)


def interpolate_tree(value: Value, lookup: Lookup, warnings: Warnings) -> Value:
    """Every string value of a document interpolated; keys are not (12-interpolation.md)."""
    if isinstance(value, Scalar):
        if value.kind != "str" or not isinstance(value.value, str) or "$" not in value.value:
            return value
        text, refs = interpolate(value.value, lookup, str(value.loc), warnings)
        return Scalar(text, "str", value.loc, refs)
    if isinstance(value, Seq):
        return Seq(
            tuple(interpolate_tree(item, lookup, warnings) for item in value.items), value.loc
        )
    items = {key: interpolate_tree(item, lookup, warnings) for key, item in value.items.items()}
    return Map(items, value.key_locs, value.loc)


def interpolate_document(document: Map, lookup: Lookup, warnings: Warnings) -> Map:
    """`interpolate_tree` over a whole document, each service's warnings marked as its own."""
    items: dict[str, Value] = {}
    for key, item in document.items.items():
        if key == "services" and isinstance(item, Map):
            services: dict[str, Value] = {}
            for name, definition in item.items.items():
                with warnings.about(name):
                    services[name] = interpolate_tree(definition, lookup, warnings)
            items[key] = Map(services, item.key_locs, item.loc)
        else:
            items[key] = interpolate_tree(item, lookup, warnings)
    return Map(items, document.key_locs, document.loc)


@dataclass(frozen=True)
class EnvEntry:
    key: str
    value: str | None
    loc: Loc
    refs: tuple[Ref, ...]
    service: str
    """The service whose `environment:` it was written in."""

    @property
    def where(self) -> str:
        return f"{self.loc}, service {self.service} environment"


@dataclass(frozen=True)
class Environment:
    form: Literal["mapping", "list"]
    """'list' also once merged (extends, a later document): Compose then holds it as a list."""
    entries: tuple[EnvEntry, ...]


@dataclass(frozen=True)
class EnvFileRef:
    key: str
    """What Compose compares to keep one of two entries naming the same file."""
    path: Path
    display: str
    required: bool
    format: str
    loc: Loc
    service: str


@dataclass(frozen=True)
class Extends:
    service: str
    file: str | None
    loc: Loc


@dataclass(frozen=True)
class Service:
    name: str
    loc: Loc
    environment: Environment | None = None
    env_file: tuple[EnvFileRef, ...] | None = None
    extends: Extends | None = None


def unique_env_files(refs: tuple[EnvFileRef, ...]) -> tuple[EnvFileRef, ...]:
    """A repeated path keeps the place of its first entry and the settings of its last."""
    kept: dict[str, EnvFileRef] = {}
    for ref in refs:
        kept[ref.key] = ref
    return tuple(kept.values())


def merge_services(base: Service, override: Service) -> Service:
    """Compose's merge of two definitions of a service (extends, or a later YAML document):
    environment and env_file become one sequence, base first; other keys, override wins."""
    environment = override.environment or base.environment
    if base.environment is not None and override.environment is not None:
        environment = Environment("list", base.environment.entries + override.environment.entries)
    env_file = override.env_file if override.env_file is not None else base.env_file
    if base.env_file is not None and override.env_file is not None:
        env_file = unique_env_files(base.env_file + override.env_file)
    return Service(
        override.name,
        override.loc,
        environment,
        env_file,
        override.extends if override.extends is not None else base.extends,
    )


def clear_reset(service: Service, paths: Sequence[ResetPath]) -> Service:
    """`!reset`/`!override` paths of the file being read, applied to a service it extends or
    redefines (13-merge.md): the attribute is dropped before the merge."""
    for path in paths:
        if len(path) < 3 or path[:2] != ("services", service.name):
            continue
        attribute, rest = path[2], path[3:]
        if attribute == "environment" and not rest:
            service = replace(service, environment=None)
        elif attribute == "environment" and len(rest) == 1 and service.environment is not None:
            if service.environment.form == "mapping":  # Compose cannot reset a list item
                entries = tuple(e for e in service.environment.entries if e.key != rest[0])
                service = replace(service, environment=Environment("mapping", entries))
        elif attribute == "env_file" and not rest:
            service = replace(service, env_file=None)
        elif attribute == "extends" and not rest:
            service = replace(service, extends=None)
    return service


_BOOLEANS = {
    "true": True,
    "false": False,
    "y": True,
    "yes": True,
    "on": True,
    "n": False,
    "no": False,
    "off": False,
}


class ServicesReader:
    """One compose file's documents as services (no `extends` applied)."""

    def __init__(
        self,
        display: str,
        folder: Path,
        *,
        main: bool,
        environ: Mapping[str, str],
        warnings: Warnings,
        display_path: Callable[[Path], str],
    ) -> None:
        self.display = display
        self.folder = folder
        """Where the file's relative paths start."""
        self.main = main
        """The compose file named, not one that `extends: {file: ...}` brought in."""
        self.environ = environ
        self.warnings = warnings
        self.display_path = display_path

    def read(self, document: Map) -> dict[str, Service]:
        for key, loc in document.key_locs.items():
            if key == "include":
                self.warnings.add(
                    f"{loc}: include: is not followed; services from included files are not read"
                )
            elif key not in TOP_LEVEL_KEYS and not key.startswith("x-"):
                self.warnings.add(
                    f"{loc}: top-level key {key!r} is not in the Compose Specification; Compose"
                    " refuses the file (additional property not allowed)"
                )
        section = document.items.get("services")
        if section is None:
            if "services" in document.items:
                raise InputError(f"{document.key_locs['services']}: services must be a mapping")
            return {}
        if not isinstance(section, Map):
            raise InputError(f"{section.loc}: services must be a mapping")
        services: dict[str, Service] = {}
        for name, definition in section.items.items():
            loc = section.key_locs[name]
            if not re.fullmatch(r"[a-zA-Z0-9._-]+", name):
                raise InputError(
                    f"{loc}: service name {name!r} may only have letters, digits, '.', '_', '-'"
                )
            if not isinstance(definition, Map):
                raise InputError(f"{loc}: services.{name} must be a mapping")
            with self.warnings.about(name):
                services[name] = self.service(name, definition, loc)
        return services

    def service(self, name: str, definition: Map, loc: Loc) -> Service:
        environment = definition.items.get("environment")
        env_file = definition.items.get("env_file")
        extends = definition.items.get("extends")
        return Service(
            name,
            loc,
            self.environment(name, environment) if "environment" in definition.items else None,
            self.env_files(name, env_file) if "env_file" in definition.items else None,
            self.extends(name, extends, definition) if "extends" in definition.items else None,
        )

    def environment(self, service: str, value: Value | None) -> Environment:
        entries: list[EnvEntry] = []
        if isinstance(value, Map):
            for key, item in value.items.items():
                if not isinstance(item, Scalar):
                    raise InputError(
                        f"{value.key_locs[key]}: services.{service}.environment.{key} must be a"
                        " string, number, boolean or null"
                    )
                text = self.env_text(item)
                entries.append(EnvEntry(key, text, value.key_locs[key], item.refs, service))
            return Environment("mapping", tuple(entries))
        if isinstance(value, Seq):
            for item in value.items:
                if not isinstance(item, Scalar) or item.kind not in ("str", "timestamp"):
                    raise InputError(
                        f"{item.loc}: services.{service}.environment items must be strings like"
                        " KEY=value"
                    )
                key, equals, rest = str(item.value).partition("=")
                if key and key[-1] in GO_SPACE:
                    raise InputError(
                        f"{item.loc}: environment variable {key!r} is declared with a trailing"
                        " space"
                    )
                entries.append(
                    EnvEntry(key, rest if equals else None, item.loc, item.refs, service)
                )
            return Environment("list", tuple(entries))
        where = str(value.loc) if value is not None else self.display
        raise InputError(f"{where}: services.{service}.environment must be a mapping or a list")

    def env_text(self, item: Scalar) -> str | None:
        """A scalar of `environment:` as the string Compose passes (Go's fmt.Sprint)."""
        value = item.value
        if item.kind == "null":
            return None
        if item.kind == "bool":
            return "true" if value else "false"
        if item.kind == "float":
            assert isinstance(value, float)
            return go_format_float(value)
        if item.kind == "timestamp":
            self.warnings.add(
                f"{item.loc}: {value} is a YAML timestamp: Compose versions differ on how they"
                " pass it (as written, or as '... 00:00:00 +0000 UTC'); quote it"
            )
        return str(value)

    def env_files(self, service: str, value: Value | None) -> tuple[EnvFileRef, ...]:
        if isinstance(value, Scalar) and value.kind == "str":
            items: tuple[Value, ...] = (value,)
        elif isinstance(value, Seq):
            items = value.items
        else:
            loc = value.loc if value is not None else self.display
            raise InputError(
                f"{loc}: services.{service}.env_file must be a path or a list of paths"
            )
        refs = [self.env_file(service, item) for item in items]
        return unique_env_files(tuple(refs))

    def env_file(self, service: str, item: Value) -> EnvFileRef:
        required, file_format = True, ""
        if isinstance(item, Scalar) and item.kind == "str":
            written, loc = str(item.value), item.loc
        elif isinstance(item, Map):
            unknown = set(item.items) - {"path", "required", "format"}
            if unknown:
                raise InputError(
                    f"{item.loc}: services.{service}.env_file: unknown key"
                    f" {sorted(unknown)[0]!r} (path, required, format)"
                )
            path = item.items.get("path")
            if not isinstance(path, Scalar) or path.kind != "str":
                raise InputError(f"{item.loc}: services.{service}.env_file: path is required")
            written, loc = str(path.value), path.loc
            if "required" in item.items:
                required = self.boolean(item.items["required"], f"services.{service}.env_file")
            file_format_value = item.items.get("format")
            if file_format_value is not None:
                if not isinstance(file_format_value, Scalar) or file_format_value.kind != "str":
                    raise InputError(f"{file_format_value.loc}: env_file format must be a string")
                file_format = str(file_format_value.value)
        else:
            raise InputError(f"{item.loc}: services.{service}.env_file items must be paths")
        path_text = written
        if path_text.startswith("~"):
            home = self.environ.get("HOME")
            if home:
                path_text = os.path.join(home, path_text[1:].lstrip("/"))
            else:
                self.warnings.add(f"{loc}: cannot expand '~': HOME is not set")
        absolute = Path(os.path.normpath(os.path.join(self.folder, path_text)))
        key = written if self.main else str(absolute)
        return EnvFileRef(
            key, absolute, self.display_path(absolute), required, file_format, loc, service
        )

    def boolean(self, value: Value, where: str) -> bool:
        if isinstance(value, Scalar) and value.kind == "bool":
            return bool(value.value)
        if isinstance(value, Scalar) and value.kind == "str":
            text = str(value.value).lower()
            if text in _BOOLEANS:
                if text not in ("true", "false"):
                    self.warnings.add(
                        f"{value.loc}: {value.value!r} for a boolean is not YAML 1.2; use"
                        f" {str(_BOOLEANS[text]).lower()}"
                    )
                return _BOOLEANS[text]
        raise InputError(f"{value.loc}: {where}: required must be true or false")

    def extends(self, service: str, value: Value | None, definition: Map) -> Extends:
        loc = definition.key_locs["extends"]
        if isinstance(value, Scalar) and value.kind == "str":
            return Extends(str(value.value), None, loc)
        if isinstance(value, Map):
            unknown = set(value.items) - {"service", "file"}
            if unknown:
                raise InputError(
                    f"{loc}: services.{service}.extends: unknown key {sorted(unknown)[0]!r}"
                )
            ref = value.items.get("service")
            if not isinstance(ref, Scalar) or ref.kind != "str":
                raise InputError(f"{loc}: extends.{service}.service is required")
            file = value.items.get("file")
            if file is not None and (not isinstance(file, Scalar) or file.kind != "str"):
                raise InputError(f"{file.loc}: services.{service}.extends.file must be a path")
            return Extends(str(ref.value), str(file.value) if file is not None else None, loc)
        raise InputError(f"{loc}: services.{service}.extends must be a service name or a mapping")
