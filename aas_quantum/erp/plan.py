"""The export as a whole: which files a profile and format give, a plan rendered for every profile before
any file is written, and the writing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aas_quantum.erp.document import FORMATS, ErpDocument
from aas_quantum.erp.profile import Profile
from aas_quantum.erp.rapidstart import write_rapidstart
from aas_quantum.erp.tables import Table, render
from aas_quantum.erp.writers import write_csv, write_json, write_xlsx
from aas_quantum.errors import ConfigError


def export_paths(profile: Profile, out_dir: Path, stem: str, fmt: str) -> list[Path]:
    """Where ``fmt`` files of ``profile`` go: one workbook, one file per sheet, or one per payload."""
    if fmt == "json":
        if not profile.payloads:
            raise ConfigError(f"ERP profile {profile.name!r} defines no [[payloads]] (OData request bodies), so it "
                              f"has no json format; use xlsx or csv for it")
        return [out_dir / f"{stem}.{profile.name}.{payload.file_key}.json" for payload in profile.payloads]
    if fmt == "xlsx" and not profile.workbook_per_sheet:
        return [out_dir / f"{stem}.{profile.name}.xlsx"]
    return [out_dir / f"{stem}.{profile.name}.{sheet.file_key}.{fmt}" for sheet in profile.sheets]


def has_format(profile: Profile, fmt: str) -> bool:
    """Whether ``profile`` has ``fmt`` files: json needs request bodies, which only ``[[payloads]]`` define."""
    return fmt != "json" or bool(profile.payloads)


def skipped_formats(profiles: Sequence[Profile], formats: Sequence[str]) -> list[str]:
    """One line per profile a requested format does not apply to: an export of several profiles writes
    each the formats it has (SAP's json bodies next to Odoo's csv) rather than failing as a whole. Only
    an export that would write no file at all is an error."""
    if not any(has_format(profile, fmt) for profile in profiles for fmt in formats):
        names = ", ".join(repr(p.name) for p in profiles)
        raise ConfigError(f"ERP profile {names} defines no [[payloads]] (OData request bodies), so --erp-format "
                          f"{','.join(formats)} writes nothing; use xlsx or csv for it")
    return [f"ERP profile {profile.name!r} defines no [[payloads]] (OData request bodies): no {fmt} files for it"
            for profile in profiles for fmt in formats if not has_format(profile, fmt)]


def export_targets(profiles: Sequence[Profile], formats: Sequence[str], out_dir: Path, stem: str) -> list[Path]:
    """Every file an export of ``profiles`` in ``formats`` writes (known before rendering anything)."""
    return [p for profile in profiles for fmt in formats if has_format(profile, fmt)
            for p in export_paths(profile, out_dir, stem, fmt)]


def import_notes(profiles: Sequence[Profile]) -> list[str]:
    """One line per profile that states an ``import_order``: its files are written (and listed) in that order,
    and the user is told it, since the master data must be in the ERP before the documents referring to it."""
    return [note for profile in profiles if (note := profile.import_note())]


@dataclass(frozen=True)
class ExportPlan:
    """Rendered profiles, ready to write: building it is where every profile and data error surfaces."""

    document: ErpDocument
    rendered: tuple[tuple[Profile, tuple[Table, ...]], ...]
    formats: tuple[str, ...]


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ConfigError(f"unknown ERP export format(s) {unknown}; use {', '.join(FORMATS)}")
    return tuple(formats)


def plan_export(document: ErpDocument, profiles: Sequence[Profile], formats: Sequence[str]) -> ExportPlan:
    skipped_formats(profiles, check_formats(formats))  # nothing to write at all is refused before rendering
    return ExportPlan(document, tuple((p, render(document, p)) for p in profiles), check_formats(formats))


def write_export(plan: ExportPlan, out_dir: Path, stem: str) -> list[Path]:
    """Write every file of ``plan``, each atomically."""
    written: list[Path] = []
    for profile, tables in plan.rendered:
        for fmt in (f for f in plan.formats if has_format(profile, f)):
            paths = export_paths(profile, out_dir, stem, fmt)
            if fmt == "xlsx" and profile.layout == "rapidstart":
                written.append(write_rapidstart(tables, profile, paths[0]))
            elif fmt == "xlsx" and profile.workbook_per_sheet:  # importers that load one table per file
                written.extend(write_xlsx([t], plan.document, profile, p) for t, p in zip(tables, paths, strict=True))
            elif fmt == "xlsx":
                written.append(write_xlsx(tables, plan.document, profile, paths[0]))
            elif fmt == "json":
                written.extend(write_json(p, tables, path) for p, path in zip(profile.payloads, paths, strict=True))
            else:
                written.extend(write_csv(t, profile, p) for t, p in zip(tables, paths, strict=True))
    return written


def export(document: ErpDocument, profiles: Sequence[Profile], formats: Sequence[str], out_dir: Path,
           stem: str) -> list[Path]:
    """Render every profile first (any error stops before a file is written), then write."""
    return write_export(plan_export(document, profiles, formats), out_dir, stem)
