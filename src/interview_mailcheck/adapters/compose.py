"""Each service's container environment, computed from a compose file the way Docker Compose does.

The only module that imports PyYAML, and only its parser: the file is read as a stream of YAML
events and every node is built here, so no YAML tag is ever constructed or executed, the nesting
and the alias expansion are bounded (a billion-laughs file is refused in well under a second),
and scalars are typed the way Compose's YAML library (go-yaml) types them, not the way PyYAML
would (YAML 1.1: `yes` is a boolean, `0755` an octal, `1:20` a sexagesimal 80).

What it follows, from the Compose Specification (compose-spec/compose-spec):

- 05-services.md, environment: "environment can use either an array or a map. Any boolean
  values; true, false, yes, no, should be enclosed in quotes ..." and "Environment variables can
  be declared by a single key (no value to equals sign). In this case Compose relies on you to
  resolve the value. If the value is not resolved, the variable is unset and is removed from the
  service container environment." Such a key is looked up in the shell environment, then the
  project's `.env` (None here when neither has it). "When both env_file and environment are set
  for a service, values set by environment have precedence."
- 05-services.md, env_file: "The files in the list are processed from the top down. For the
  same variable specified in two env files, the value from the last file in the list stands."
  "Relative path are resolved from the Compose file's parent folder." "Environment variables
  declared in the environment section override these values. This holds true even if those
  values are empty or undefined." `required: false`: "when ... the .env file is missing, Compose
  silently ignores the entry" (a warning here). `format: raw`: "without any attempt from Compose
  to parse the value for interpolation".
- 05-services.md, Env_file format: "Lines beginning with # are processed as comments",
  "Unquoted and double-quoted (") values have Interpolation applied", "Inline comments for
  unquoted values must be preceded with a space", "Single-quoted (') values are used
  literally", "Quotes can be escaped with \\", "Common shell escape sequences including \\n,
  \\r, \\t, and \\\\ are supported in double-quoted values", "`VAL` may be omitted, in such cases
  the variable value is an empty string. `=VAL` may be omitted, in such cases the variable is
  unset."
- 12-interpolation.md: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
  `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}`, nesting ("${VARIABLE:-${FOO:-default}}"), `$$` for
  a literal `$`; "If Compose can't resolve a substituted variable and no default value is
  defined, it displays a warning and substitutes the variable with an empty string";
  "Interpolation applies only to YAML values, not to keys" (the list form `- KEY=$V` is one
  value, so there the key is interpolated too); "interpolation is applied before a merge".
- 10-fragments.md and 11-extension.md: anchors and aliases, YAML merge keys (`<<: *env`,
  "Compose follows the rule outlined by YAML merge type"), "Anchor resolution takes place before
  variables interpolation", top-level `x-` fields ("Compose ignores any fields that start with
  x-") as the usual home of those anchors.
- 05-services.md, extends: "Mappings: Keys in mappings of the main service definition override
  keys in mappings of the referenced service definition" (environment is one of them), env_file
  in list syntax is a sequence: "Items are combined together into a new sequence ... the
  referenced items coming first"; "Circular references with extends are not supported".
- 13-merge.md: `!reset` and `!override`, as they act within one file (on the service an
  `extends:` copies, and on an earlier YAML document of the same file).

Where the specification is silent, Compose's reference loader (compose-spec/compose-go, read
for its behaviour, not copied) decided: a YAML 1.2 core schema with go-yaml's number syntax
(`0755` and `0o755` are octal, `1_000` is 1000, `1.0` is written "1", `1e6` "1e+06" as Go's
fmt prints a float64); duplicate keys are an error; a value in an env file interpolates from the
shell and `.env` first, then from the service's `environment:`, then from the lines above it; a
repeated env_file path keeps the first one's place; `KEY` alone on an env file's last line with
no newline after it is not read as a key (a warning here); the raw format is `docker run
--env-file`'s (no quotes, no comments after a value, no interpolation).

Docker Compose itself is not run here (no engine, no binary): the reading was checked against
those sections and against the test cases of compose-go's loader, dotenv and template packages,
restated in tests/test_compose.py.

Not supported (each is a warning or is left out, never guessed): `include:` (warned), several
compose files merged with `-f` (one file; its YAML documents are merged as Compose merges
files), `profiles` (every service is read), the image's own ENV lines, `COMPOSE_*` variables,
`PWD` added by Compose when the shell has none, remote (git, OCI) `extends.file`.

The reading is split by concern: this module reads the files and the YAML events (the only
one that imports PyYAML) and resolves each service's environment; compose_yaml.py types the
nodes as go-yaml does, compose_interpolation.py interpolates, compose_envfile.py parses
Compose's env file format, compose_services.py reads `environment:`, `env_file:` and
`extends:` and merges definitions. All four are pure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml  # type: ignore[import-untyped, unused-ignore]

from interview_mailcheck.compose_envfile import Assigned, EnvFileParser, parse_raw_env_file
from interview_mailcheck.compose_interpolation import EnvVar, Warnings, one_line
from interview_mailcheck.compose_services import (
    Extends,
    Service,
    ServicesReader,
    clear_reset,
    interpolate_document,
    merge_services,
    unique_env_files,
)
from interview_mailcheck.compose_yaml import MAX_DEPTH, Builder, Map, Node, ResetPath, Seq
from interview_mailcheck.errors import InputError, unreadable

MAX_FILE_SIZE = 4 << 20
"""4 MiB, for a compose file and for each env file. Real ones are a few kilobytes."""

MAX_EXTENDS_FILES = 32
"""Other compose files that `extends: {file: ...}` may bring in, all chains together."""

SHELL = "shell environment"


@dataclass(frozen=True)
class ServiceEnvironment:
    """One service's container environment as Compose sets it."""

    name: str
    values: dict[str, str | None]
    """Variable -> value; None for a variable declared without a value that nothing resolved
    (Compose removes it from the container's environment, even one the image sets)."""
    origins: dict[str, str]
    """Variable -> where its value came from, e.g. './worker.env line 3'."""
    env_files: tuple[Path, ...] = ()
    """The env files read for this service, in the order Compose reads them (missing optional
    ones left out)."""


@dataclass(frozen=True)
class ComposeProject:
    path: Path
    project_dir: Path
    services: dict[str, ServiceEnvironment]
    warnings: list[str] = field(default_factory=list)
    """What Compose would warn about (unset variables interpolated as empty) and what this
    reading cannot see (missing optional env files, `include:`), one line each."""
    warning_services: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Each warning -> the services it is about, where it was written (none for the project's
    .env or an `x-` field; the service written in another file that `extends:` brings in)."""


# --- reading the files ----------------------------------------------------------------------


def _compose_events(text: str, display: str) -> tuple[list[Node], int]:
    """The file's YAML documents as node trees, and how many nodes were written in all."""
    loader_class: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    loader: Any = loader_class(text)
    documents: list[Node] = []
    stack: list[Node] = []
    anchors: dict[str, Node] = {}
    open_anchors: set[str] = set()
    root: Node | None = None
    count = 0

    def add(node: Node) -> None:
        nonlocal root
        if stack:
            stack[-1].children.append(node)
        else:
            root = node

    try:
        while loader.check_event():
            event = loader.get_event()
            line = int(event.start_mark.line) + 1 if event.start_mark is not None else 0
            if isinstance(event, yaml.DocumentStartEvent):
                anchors, open_anchors, root, stack = {}, set(), None, []
            elif isinstance(event, yaml.DocumentEndEvent):
                if root is not None:
                    documents.append(root)
            elif isinstance(event, yaml.ScalarEvent):
                count += 1
                node = Node(
                    "scalar",
                    line,
                    tag=event.tag,
                    anchor=event.anchor,
                    value=str(event.value),
                    plain=not event.style,  # None (PyYAML) or "" (libyaml) for plain
                )
                add(node)
                if node.anchor is not None:
                    anchors[node.anchor] = node
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                count += 1
                kind: Literal["seq", "map"] = (
                    "seq" if isinstance(event, yaml.SequenceStartEvent) else "map"
                )
                node = Node(kind, line, tag=event.tag, anchor=event.anchor)
                add(node)
                stack.append(node)
                if len(stack) > MAX_DEPTH:
                    raise InputError(
                        f"{display} line {line}: nested deeper than {MAX_DEPTH} levels,"
                        " which no compose file is"
                    )
                if node.anchor is not None:
                    open_anchors.add(node.anchor)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                node = stack.pop()
                if node.anchor is not None:
                    open_anchors.discard(node.anchor)
                    anchors[node.anchor] = node
            elif isinstance(event, yaml.AliasEvent):
                count += 1
                name = str(event.anchor)
                if name in open_anchors:
                    raise InputError(
                        f"{display} line {line}: anchor '{name}' value contains itself"
                    )
                if name not in anchors:
                    raise InputError(f"{display} line {line}: unknown anchor '{name}' referenced")
                add(Node("alias", line, anchor=name, target=anchors[name]))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = error.problem or error.context or "invalid YAML"
        raise InputError(f"{display}{where}: YAML syntax error: {one_line(problem)}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{display}: YAML syntax error: {one_line(str(error))}") from None
    finally:
        loader.dispose()
    return documents, count


def _read_text(path: Path, kind: str, display: str) -> str:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_SIZE + 1)
    except OSError as error:
        raise unreadable(kind, display, error) from None
    if len(data) > MAX_FILE_SIZE:
        raise InputError(
            f"{kind} is larger than {MAX_FILE_SIZE >> 20} MiB, which no real {kind} is: {display}"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{kind} is not UTF-8 text (byte {error.start + 1} is not): {display}"
        ) from None


class _ComposeFile:
    """One compose file read: its documents, interpolated, as services (no `extends` applied)."""

    def __init__(self, reader: _Reader, path: Path, display: str, *, main: bool) -> None:
        self.reader = reader
        self.path = path
        self.display = display
        self.folder = path.parent
        self.main = main
        self.services = ServicesReader(
            display,
            self.folder,
            main=main,
            environ=reader.environ,
            warnings=reader.warnings,
            display_path=reader.display,
        )

    def documents(self) -> list[tuple[dict[str, Service], list[ResetPath]]]:
        given = self.reader.given if self.main else self.display
        text = _read_text(self.path, "compose file", given)
        roots, written = _compose_events(text, self.display)
        if not roots:
            raise InputError(f"compose file is empty: {self.display}")
        documents = []
        for root in roots:
            builder = Builder(self.display, written)
            value = builder.build(root, (), 0, None)
            if not isinstance(value, Map):
                kind = "a list" if isinstance(value, Seq) else "a single value"
                raise InputError(
                    f"{self.display} line {root.line}: the top level is {kind}, not a mapping"
                    " (top-level object must be a mapping)"
                )
            interpolated = interpolate_document(
                value, self.reader.project_lookup, self.reader.warnings
            )
            documents.append((self.services.read(interpolated), builder.cleared))
        return documents


class _Reader:
    """One read_compose call: the project environment, the files read, the warnings."""

    def __init__(self, path: Path, environ: Mapping[str, str], given: str) -> None:
        self.path = path
        self.given = given
        """The compose file's path as the caller wrote it, for the errors about reading it."""
        self.project_dir = path.parent
        self.environ = environ
        self.warnings = Warnings()
        self.project_env: dict[str, EnvVar] = {}
        self.extends_files: dict[Path, list[tuple[dict[str, Service], list[ResetPath]]]] = {}

    def display(self, path: Path) -> str:
        if path == self.path:
            return path.name
        try:
            return "./" + path.relative_to(self.project_dir).as_posix()
        except ValueError:
            return str(path)

    def project_lookup(self, name: str) -> EnvVar | None:
        return self.project_env.get(name)

    def read_project_environment(self, env_files: Sequence[str | os.PathLike[str]] | None) -> None:
        """The shell environment, then the project's `.env` (or `--env-file` files), for
        interpolation and for variables declared without a value. The shell wins."""
        shell = {name: EnvVar(value, SHELL) for name, value in self.environ.items()}
        if env_files is None:
            default = self.project_dir / ".env"
            paths = [default] if default.is_file() else []
        else:
            paths = [Path(os.path.abspath(file)) for file in env_files]
        from_files: dict[str, Assigned] = {}

        def before_this_line(name: str) -> EnvVar | None:
            earlier = from_files.get(name)
            if name in shell or earlier is None or earlier.value is None:
                return shell.get(name)
            return EnvVar(earlier.value, earlier.where)

        for path in paths:
            display = self.display(path)
            if not path.exists():
                raise InputError(f"couldn't find env file: {display}")
            text = _read_text(path, "env file", display)
            EnvFileParser(text, display, self.warnings).parse(from_files, before_this_line)
        self.project_env = dict(shell)
        for name, setting in from_files.items():
            if name not in shell and setting.value is not None:
                self.project_env[name] = EnvVar(setting.value, setting.where)

    def load(self) -> dict[str, Service]:
        """The main file's services, each document's `extends` applied, documents merged."""
        main = _ComposeFile(self, self.path, self.display(self.path), main=True)
        merged: dict[str, Service] = {}
        for services, cleared in main.documents():
            for name in list(services):
                self.extend(name, services, main, cleared, ())
            for path in cleared:
                if len(path) == 2 and path[0] == "services":
                    merged.pop(path[1], None)
            for name, service in services.items():
                if name in merged:
                    merged[name] = merge_services(clear_reset(merged[name], cleared), service)
                else:
                    merged[name] = service
        return merged

    def extend(
        self,
        name: str,
        services: dict[str, Service],
        file: _ComposeFile,
        cleared: list[ResetPath],
        chain: tuple[tuple[Path, str], ...],
    ) -> Service:
        """`services[name]` with its `extends:` chain merged in (05-services.md, extends)."""
        service = services[name]
        if service.extends is None:
            return service
        link = (file.path, name)
        if link in chain:
            steps = " -> ".join(f"{step} in {self.display(path)}" for path, step in (*chain, link))
            raise InputError(f"{service.extends.loc}: circular reference with extends: {steps}")
        ref = service.extends.service
        if service.extends.file is None:
            base_services, base_file, base_cleared = services, file, cleared
        else:
            base_services, base_file, base_cleared = self.extends_base(service.extends, file)
        if ref not in base_services:
            raise InputError(
                f"{service.extends.loc}: cannot extend service {name!r}: service {ref!r} not"
                f" found in {base_file.display}"
            )
        base = self.extend(ref, base_services, base_file, base_cleared, (*chain, link))
        source = clear_reset(replace(base, name=name), cleared)
        merged = replace(merge_services(source, service), extends=None)
        if merged.env_file is not None:
            merged = replace(merged, env_file=unique_env_files(merged.env_file))
        services[name] = merged
        return merged

    def extends_base(
        self, extends: Extends, file: _ComposeFile
    ) -> tuple[dict[str, Service], _ComposeFile, list[ResetPath]]:
        assert extends.file is not None
        written = extends.file
        if written.startswith("~") and self.environ.get("HOME"):
            written = os.path.join(self.environ["HOME"], written[1:].lstrip("/"))
        path = Path(os.path.normpath(os.path.join(file.folder, written)))
        other = _ComposeFile(self, path, self.display(path), main=False)
        if path not in self.extends_files:
            if len(self.extends_files) >= MAX_EXTENDS_FILES:
                raise InputError(
                    f"{extends.loc}: extends brings in more than {MAX_EXTENDS_FILES} files"
                )
            if not path.is_file():
                raise InputError(f"{extends.loc}: extends file not found: {other.display}")
            self.extends_files[path] = other.documents()
        merged: dict[str, Service] = {}
        cleared: list[ResetPath] = []
        for services, document_cleared in self.extends_files[path]:
            for name, service in services.items():
                merged[name] = (
                    merge_services(clear_reset(merged[name], document_cleared), service)
                    if name in merged
                    else service
                )
            cleared = document_cleared
        if not merged:
            raise InputError(
                f"{extends.loc}: cannot extend service {extends.service!r}: no services section"
                f" in {other.display}"
            )
        return merged, other, cleared

    def environment(self, service: Service) -> ServiceEnvironment:
        """WithServicesEnvironmentResolved: `environment:` resolved from the project
        environment, env files read over it in order, then `environment:` laid over them."""
        declared: dict[str, Assigned] = {}
        for entry in service.environment.entries if service.environment else ():
            if entry.value is not None:
                declared[entry.key] = Assigned(entry.value, entry.where, entry.refs)
                continue
            found = self.project_env.get(entry.key)
            if found is not None:
                declared[entry.key] = Assigned(
                    found.value,
                    found.source,
                    origin_text=f"{found.source} ({entry.key} declared without a value at"
                    f" {entry.where})",
                )
            else:
                declared[entry.key] = Assigned(
                    None,
                    entry.where,
                    origin_text=f"{entry.where}: declared without a value and not set in the shell"
                    " environment or .env, so Compose leaves it unset",
                )

        def lookup(name: str) -> EnvVar | None:
            found = self.project_env.get(name)
            if found is not None:
                return found
            setting = declared.get(name)
            if setting is not None and setting.value is not None:
                return EnvVar(setting.value, f"service {service.name} environment")
            return None

        environment = {key: s for key, s in declared.items() if s.value is not None}
        from_files: dict[str, str] = {}
        read: list[Path] = []
        for ref in service.env_file or ():
            if not ref.path.exists():
                if ref.required:
                    raise InputError(
                        f"{ref.loc}: env file {ref.display} not found (service {service.name})"
                    )
                self.warnings.add(
                    f"{ref.loc}: env file {ref.display} not found; it is optional"
                    f" (required: false), so service {service.name} starts without it"
                )
                continue
            text = _read_text(ref.path, "env file", ref.display)
            before = dict(environment)
            if ref.format == "raw":
                parse_raw_env_file(text, ref.display, environment, lookup)
            elif ref.format == "":
                EnvFileParser(text, ref.display, self.warnings).parse(environment, lookup)
            else:
                raise InputError(f"{ref.loc}: unsupported env_file format {ref.format!r}")
            read.append(ref.path)
            for key, setting in environment.items():
                if before.get(key) is not setting:
                    from_files[key] = setting.where
        final = {**environment, **declared}
        origins: dict[str, str] = {}
        for key, setting in final.items():
            origin = setting.origin
            if key in declared and key in from_files:
                origin += f" (overriding {from_files[key]})"
            origins[key] = origin
        keys = sorted(final)
        return ServiceEnvironment(
            service.name,
            {key: final[key].value for key in keys},
            {key: origins[key] for key in keys},
            tuple(read),
        )


def read_compose(
    path: str | os.PathLike[str],
    environ: Mapping[str, str],
    *,
    env_files: Sequence[str | os.PathLike[str]] | None = None,
) -> ComposeProject:
    """Every service's container environment as Docker Compose computes it from `path`.

    `environ` is the shell environment Compose would run in. The project's `.env` beside the
    compose file is read for interpolation unless `env_files` is given, as `--env-file` is
    (relative paths from the current folder). Raises InputError, one line naming the file and
    line, for what stops Compose: YAML errors, `${VAR:?msg}` with VAR unset, a missing required
    env file, and for files over MAX_FILE_SIZE or too deep or alias-heavy to be real.
    """
    compose_path = Path(os.path.abspath(path))
    reader = _Reader(compose_path, environ, os.fspath(path))
    if not compose_path.exists():
        raise unreadable("compose file", path, FileNotFoundError(path))
    reader.read_project_environment(env_files)
    services = reader.load()
    if not services:
        reader.warnings.add(f"{reader.display(compose_path)}: no services are defined")
    environments: dict[str, ServiceEnvironment] = {}
    for name in sorted(services):
        with reader.warnings.about(name):
            environments[name] = reader.environment(services[name])
    return ComposeProject(
        compose_path,
        reader.project_dir,
        environments,
        list(reader.warnings.lines),
        {line: tuple(about) for line, about in reader.warnings.lines.items()},
    )
