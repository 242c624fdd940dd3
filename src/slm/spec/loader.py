"""Load spec files and directories into a ``Workspace``, collecting every problem.

Files are read (directories recursively, ``*.yaml``/``*.yml``), split into documents,
looked up in the registry, validated by their pydantic model and mapped to domain
objects. Nothing stops at the first problem: all of them are raised together in one
``SpecError``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from slm.domain.errors import Problem, SpecError, sort_problems
from slm.domain.model import SLO, AlertCatalogue, DataSource, Indicator, Service
from slm.spec.checks import run_checks
from slm.spec.context import ROLE_LABEL, MapContext
from slm.spec.problems import SpecObject
from slm.spec.registry import (
    SLO_GENERATOR_API,
    SLO_GENERATOR_CONFIG,
    SLOTH_KIND,
    KindEntry,
    Registry,
    default_registry,
)
from slm.spec.workspace import (
    AlertCondition,
    AlertPolicy,
    NotificationTarget,
    RawDocument,
    Workspace,
)
from slm.spec.yamlio import FieldPath, YamlDocument, YamlFileError, parse_file, read_text

SUFFIXES = (".yaml", ".yml")


@dataclass
class _Item:
    obj: SpecObject
    entry: KindEntry
    model: BaseModel | None = None


def load_workspace(
    paths: Sequence[str | Path],
    registry: Registry | None = None,
    *,
    strict: bool = False,
    exclude: Sequence[str] = (),
) -> Workspace:
    """Load every spec under ``paths``; raise ``SpecError`` listing all problems.

    Warnings (an undefined Service or DataSource, a field that is ignored) do not stop the
    load: they are in ``Workspace.warnings``. ``strict`` makes them errors. In a directory,
    files matching an ``exclude`` glob are not read, and YAML files that are not specs
    (no document with a known apiVersion or kind) are skipped (``Workspace.skipped``); a
    directory without any spec file is an error."""
    ctx = MapContext()
    _load_into(ctx, paths, registry or default_registry(), exclude)
    warnings = sort_problems(ctx.problems.warnings)
    if strict and warnings:
        ctx.problems.items += [replace(w, severity="error") for w in warnings]
        warnings = []
    if ctx.problems.items:
        raise SpecError(ctx.problems.items, warnings, ctx.workspace.skipped)
    ctx.workspace.warnings = warnings
    return ctx.workspace


def _load_into(
    ctx: MapContext, paths: Sequence[str | Path], registry: Registry, exclude: Sequence[str] = ()
) -> None:
    items: list[_Item] = []
    for root, files in _files(paths, ctx, exclude):
        found = 0
        for path in files:
            read = _read(path, ctx, registry, in_directory=root is not None)
            found += read is not None
            items += read or []
        if root is not None and not found:
            skipped = len(files)
            why = f" ({skipped} YAML file(s) that are not specs)" if skipped else ""
            ctx.problems.add(
                Problem(str(root), None, "", "", "", f"no spec files in this directory{why}")
            )
    for item in items:
        _validate(item, ctx)
    for item in items:
        _declare(item, ctx)
    for item in sorted(items, key=lambda it: it.entry.order):
        if item.model is not None:
            _store(ctx, item, item.entry.mapper(item.obj, item.model, ctx))
    run_checks(ctx)


IGNORE_FILE = ".slmignore"


def _ignored(root: Path, f: Path) -> bool:
    """Whether ``f``, found walking ``root``, is left out by a ``.slmignore`` file in one
    of the folders from ``root`` down to ``f``'s: one glob per line (``#`` comments),
    matched against the path relative to that folder; ``name/`` leaves a folder out."""
    folder = f.parent
    while True:
        ignore = folder / IGNORE_FILE
        if ignore.is_file():
            rel = f.relative_to(folder).as_posix()
            for line in ignore.read_text(encoding="utf-8").splitlines():
                pattern = line.strip()
                if not pattern or pattern.startswith("#"):
                    continue
                if pattern.endswith("/"):
                    if rel.startswith(pattern) or fnmatch.fnmatch(rel.split("/")[0] + "/", pattern):
                        return True
                elif fnmatch.fnmatch(rel, pattern):
                    return True
        if folder == root or folder == folder.parent:
            return False
        folder = folder.parent


def excluded(path: Path, root: Path | None, patterns: Sequence[str]) -> bool:
    """``path`` matches a glob: by its path under ``root`` (``generated/*.yaml``), as
    given, or by its name (``*.rules.yaml``); ``*`` also crosses ``/``."""
    names = {path.as_posix(), path.name}
    if root is not None:
        names.add(path.relative_to(root).as_posix())
    return any(fnmatch.fnmatchcase(n, pat) for pat in patterns for n in names)


def _files(
    paths: Sequence[str | Path], ctx: MapContext, exclude: Sequence[str]
) -> list[tuple[Path | None, list[Path]]]:
    """Per argument: the directory (``None`` for a file named directly) and its files."""
    out: list[tuple[Path | None, list[Path]]] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and f.suffix in SUFFIXES and not _ignored(p, f)
            )
            out.append((p, [f for f in found if not excluded(f, p, exclude)]))
        elif p.exists() or p.is_symlink():  # a FIFO or a broken link: read_text says why
            out.append((None, [] if excluded(p, None, exclude) else [p]))
        else:
            ctx.problems.add(Problem(str(p), None, "", "", "", "no such file or directory"))
    return out


def _looks_like_spec(data: Any, registry: Registry) -> bool:
    """A document slm should read: its apiVersion is of a known group (``openslo/v9`` is a
    spec with a bad version; ``monitoring.coreos.com/v1`` is not a spec), or, without an
    apiVersion, a Sloth ``version``, slo-generator's config keys or a known ``kind``."""
    if not isinstance(data, dict):
        return False
    version = data.get("apiVersion")
    if isinstance(version, str):
        return version.split("/")[0] in {v.split("/")[0] for v in registry.api_versions()}
    if "version" in data and ("slos" in data or "service" in data):
        return True
    if "kind" not in data and _SLO_GENERATOR_KEYS & data.keys():
        return True  # slo-generator's shared config.yaml
    kinds = {k for v in registry.api_versions() for k in registry.kinds(v)}
    return isinstance(data.get("kind"), str) and data["kind"] in kinds


def _read(
    path: Path, ctx: MapContext, registry: Registry, *, in_directory: bool = False
) -> list[_Item] | None:
    """The file's objects; ``None`` when a file found in a directory is not a spec file
    (no document looks like a spec): it is skipped, with a note in the workspace."""
    try:
        text = read_text(path)
    except YamlFileError as e:
        ctx.problems.add(Problem(str(path), e.line, "", "", "", e.message))
        return []
    docs, errors = parse_file(str(path), text)
    if in_directory and not errors:
        roots = [x for d in docs for x in (d.data if isinstance(d.data, list) else [d.data])]
        if not any(_looks_like_spec(x, registry) for x in roots):
            ctx.workspace.skipped.append(
                (str(path), "not a spec file (no document with a known apiVersion or kind)")
            )
            return None
    for err in errors:
        ctx.problems.add(Problem(err.path, err.line, "", "", "", err.message))
    items: list[_Item] = []
    for doc in docs:
        for prefix, data in _objects(doc, ctx):
            item = _identify(doc, prefix, data, ctx, registry)
            if item is not None:
                items.append(item)
    return items


def _objects(doc: YamlDocument, ctx: MapContext) -> list[tuple[FieldPath, dict[str, Any]]]:
    roots: list[tuple[FieldPath, Any]] = (
        [((i,), x) for i, x in enumerate(doc.data)]
        if isinstance(doc.data, list)
        else [((), doc.data)]
    )
    out: list[tuple[FieldPath, dict[str, Any]]] = []
    for prefix, data in roots:
        if isinstance(data, dict):
            out.append((prefix, data))
        else:
            line = doc.line_of(prefix)
            ctx.problems.add(Problem(doc.path, line, "", "", "", "a spec object must be a mapping"))
    return out


_SLO_GENERATOR_KEYS = {"error_budget_policies", "backends", "exporters", "default_exporters"}


def _label_and_name(data: dict[str, Any]) -> tuple[str, str]:
    if "apiVersion" not in data and "version" in data:
        return SLOTH_KIND, str(data.get("service") or "")
    if "apiVersion" not in data and "kind" not in data and _SLO_GENERATOR_KEYS & data.keys():
        return SLO_GENERATOR_CONFIG, ""  # slo-generator's shared config.yaml
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    kind = data.get("kind")
    return (kind if isinstance(kind, str) else ""), (name if isinstance(name, str) else "")


def _identify(
    doc: YamlDocument, prefix: FieldPath, data: dict[str, Any], ctx: MapContext, registry: Registry
) -> _Item | None:
    label, name = _label_and_name(data)
    obj = SpecObject(doc, prefix, data, label, name)
    sloth = label == SLOTH_KIND
    vkey = "version" if sloth else "apiVersion"
    version = SLO_GENERATOR_API if label == SLO_GENERATOR_CONFIG else data.get(vkey)
    if not isinstance(version, str):
        msg = "required field missing" if version is None else "must be a string"
        ctx.problems.at(obj, (vkey,), msg)
        return None
    if version not in registry.api_versions():
        known = ", ".join(registry.api_versions())
        ctx.problems.at(obj, (vkey,), f"unknown {vkey} {version!r} (known: {known})")
        return None
    entry = registry.get(version, label)
    if entry is None:
        msg = (
            "required field missing"
            if "kind" not in data
            else (
                f"unknown kind {data.get('kind')!r} for {version} "
                f"(known: {', '.join(registry.kinds(version))})"
            )
        )
        ctx.problems.at(obj, ("kind",), msg)
        return None
    ctx.workspace.documents.append(
        RawDocument(
            path=doc.path,
            line=obj.line,
            api_version=version,
            kind=label,
            name=name,
            text=doc.text,
            sha256=doc.sha256,
        )
    )
    return _Item(obj, entry)


def _validate(item: _Item, ctx: MapContext) -> None:
    try:
        item.model = item.entry.model.model_validate(item.obj.data)
    except ValidationError as e:
        ctx.problems.from_validation(item.obj, e)


def _names(item: _Item) -> list[tuple[str, FieldPath]]:
    data = item.obj.data
    if item.entry.kind == SLOTH_KIND or item.entry.kind == "PrometheusServiceLevel":
        spec = data if item.entry.kind == SLOTH_KIND else data.get("spec")
        base: FieldPath = () if item.entry.kind == SLOTH_KIND else ("spec",)
        if not isinstance(spec, dict) or not isinstance(spec.get("slos"), list):
            return []
        service = str(spec.get("service") or "")
        return [
            (f"{service}-{slo.get('name')}", (*base, "slos", i, "name"))
            for i, slo in enumerate(spec["slos"])
            if isinstance(slo, dict)
        ]
    return [(item.obj.name, ("metadata", "name"))] if item.obj.name else []


def _declare(item: _Item, ctx: MapContext) -> None:
    e = item.entry
    role = e.role if e.role != "object" else f"{e.api_version}/{e.kind}"
    label = ROLE_LABEL.get(e.role, e.kind)
    for name, field in _names(item):
        first = ctx.declare(role, name, item.obj)
        if first is None:
            continue
        where = f"first defined at {first.path}:{first.line}"
        if e.role == "service":
            # a Service only names and describes: the first definition is kept
            msg = f"duplicate {label} name {name!r}: ignored, the one {where} is used"
            ctx.problems.add(item.obj.problem(field, msg, name=name, severity="warning"))
            item.model = None
        else:
            ctx.problems.add(
                item.obj.problem(field, f"duplicate {label} name {name!r} ({where})", name=name)
            )
            if e.kind not in (SLOTH_KIND, "PrometheusServiceLevel"):
                item.model = None  # keep the first definition only


def _store(ctx: MapContext, item: _Item, results: list[Any]) -> None:
    ws = ctx.workspace
    for r in results:
        if isinstance(r, SLO):
            ws.slos[r.name] = r
        elif isinstance(r, Indicator):
            ws.slis[r.name] = r
        elif isinstance(r, Service):
            ws.services.setdefault(r.name, r)
        elif isinstance(r, DataSource):
            ws.datasources[r.name] = r
        elif isinstance(r, AlertPolicy):
            ws.alert_policies[r.name] = r
        elif isinstance(r, AlertCondition):
            ws.alert_conditions[r.name] = r
        elif isinstance(r, NotificationTarget):
            ws.notification_targets[r.name] = r
        else:
            name = r.name if isinstance(r, AlertCatalogue) else item.obj.name
            ws.objects.setdefault(item.entry.key, {})[name] = r
