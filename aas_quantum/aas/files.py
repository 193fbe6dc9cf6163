"""Reading and writing AAS environments as .aasx, .json and .xml files (basyx-python-sdk).

Reading is strict by default (the SDK's non-failsafe mode): a defective object is an error naming
the file, never silently skipped. Lenient reading (the SDK's failsafe mode) skips defective objects
and returns each skip as a warning; a run then fails only if it needs what was skipped.

Writing is atomic (temporary file, then rename) and uses JSON parts in AASX packages, because V3.0
consumers (the IDTA test engine, BaSyx servers of the 1.x line) reject the V3.1 XML namespace the
2.x SDK writes.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import re
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter import json as aas_json
from basyx.aas.adapter import xml as aas_xml
from basyx.aas.adapter.json import json_deserialization, json_serialization
from basyx.aas.adapter.xml import xml_deserialization

from aas_quantum.atomic import atomic_write
from aas_quantum.bulk import paused_gc
from aas_quantum.config import parse_number
from aas_quantum.errors import BomInputError, Location

T = TypeVar("T")

_XML_V30 = b"https://admin-shell.io/aas/3/0"
_XML_V31 = b"https://admin-shell.io/aas/3/1"
# What other tools write and the SDK's reader does not take as it is: the relationship types of older
# packages (AASX Package Explorer before 2020, BaSyx Java test packages) and the namespaces of AAS V1/V2.
_RELS_DEPRECATED = b"http://www.admin-shell.io/aasx/relationships/"
_RELS = b"http://admin-shell.io/aasx/relationships/"
_AAS_V1_V2 = (b"http://www.admin-shell.io/aas/1/0", b"http://www.admin-shell.io/aas/2/0")
V2_MESSAGE = ("AAS V1/V2 is not supported (the package uses the {namespace} namespace); convert it to "
              "AAS V3.0, e.g. with AASX Package Explorer (open, then File > Save as .aasx) or the "
              "aas-core V2-to-V3 converter")


@dataclass
class AasEnvironment:
    """Identifiables read from one or more sources, with the source of each for error messages."""

    objects: model.DictIdentifiableStore = field(default_factory=model.DictIdentifiableStore)
    origin: dict[str, str] = field(default_factory=dict)
    files: aasx.DictSupplementaryFileContainer = field(default_factory=aasx.DictSupplementaryFileContainer)
    warnings: list[str] = field(default_factory=list)  # what lenient reading skipped, per file
    # File paths kept as references without their part (a .json has no package): the output package skips them
    references: set[str] = field(default_factory=set)

    def add(self, identifiable: model.Identifiable, source: str) -> None:
        if identifiable.id in self.origin:
            raise BomInputError(
                f"duplicate identifier {identifiable.id!r} (also in {self.origin[identifiable.id]})",
                Location(source),
            )
        self.objects.add(identifiable)
        self.origin[identifiable.id] = source

    def of_type(self, kind: type[T]) -> list[T]:
        return [obj for obj in self.objects if isinstance(obj, kind)]


MAX_PART_MB = 512.0  # default limit for one inflated part of an AASX package
MAX_PACKAGE_MB = 2048.0  # and for all parts together


def _limit_mb(name: str, default: float) -> float:
    return parse_number(os.environ.get(name, default), name, positive=True)


def _check_package_size(path: Path) -> None:
    """Refuse a package whose parts inflate beyond the limits before anything is decompressed (a
    small zip can expand to gigabytes). Limits: AAS_QUANTUM_MAX_PART_MB, AAS_QUANTUM_MAX_PACKAGE_MB."""
    part_limit = _limit_mb("AAS_QUANTUM_MAX_PART_MB", MAX_PART_MB) * 2**20
    total_limit = _limit_mb("AAS_QUANTUM_MAX_PACKAGE_MB", MAX_PACKAGE_MB) * 2**20
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise BomInputError(f"not a valid AASX package (zip): {exc}", Location(str(path))) from exc
    for info in infos:
        if info.file_size > part_limit:
            raise BomInputError(f"part {info.filename} inflates to {info.file_size / 2**20:,.0f} MB, more than "
                                f"{part_limit / 2**20:g} MB (AAS_QUANTUM_MAX_PART_MB)", Location(str(path)))
    total = sum(info.file_size for info in infos)
    if total > total_limit:
        raise BomInputError(f"the package inflates to {total / 2**20:,.0f} MB, more than {total_limit / 2**20:g} MB "
                            "(AAS_QUANTUM_MAX_PACKAGE_MB)", Location(str(path)))


class _Skipped(logging.Handler):
    """Collects what the SDK's failsafe reader logs about the objects it skips."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(_reason_text(record.getMessage()))


def read_file(path: Path, lenient: bool = False) -> tuple[model.DictIdentifiableStore,
                                                          aasx.DictSupplementaryFileContainer, list[str]]:
    """Parse one file. Strict: any defect becomes a ``BomInputError`` naming the file. Lenient:
    defective objects are skipped and each skip comes back as a warning."""
    if not lenient:
        return (*_read_file(path, failsafe=False), [])
    skipped = _Skipped()
    sdk = logging.getLogger("basyx")
    sdk.addHandler(skipped)
    try:
        store, files = _read_file(path, failsafe=True)
    finally:
        sdk.removeHandler(skipped)
    as_declared = _as_declared(path) if skipped.messages else str
    return store, files, [f"{path}: skipped: {as_declared(message)}" for message in skipped.messages]


def _read_file(path: Path, failsafe: bool) -> tuple[model.DictIdentifiableStore, aasx.DictSupplementaryFileContainer]:
    files = aasx.DictSupplementaryFileContainer()
    if not path.is_file():
        raise BomInputError("file not found", Location(str(path)))
    suffix = path.suffix.lower()
    try:
        if suffix == ".aasx":
            _check_package_size(path)
            store: model.DictIdentifiableStore = model.DictIdentifiableStore()
            with _PackageReader(_normalised_package(path), failsafe=failsafe) as reader:
                reader.read_into(store, files)
        elif suffix == ".json":
            with path.open(encoding="utf-8-sig") as fh:
                store = _read_aas_json_file(fh, failsafe=failsafe)
        elif suffix == ".xml":
            data = path.read_bytes()
            _refuse_v2(data, path.name)
            # V3.0 and V3.1 XML differ in the namespace only for the elements this tool reads.
            store = _read_aas_xml_file(io.BytesIO(data.replace(_XML_V30, _XML_V31)), failsafe=failsafe)
        else:
            raise BomInputError(f"unsupported file type {suffix!r} (expected .aasx, .json or .xml)",
                                Location(str(path)))
    except (BomInputError, MemoryError):  # a file too large for this machine is not a defective file
        raise
    except Exception as exc:  # the SDK raises many types; the user needs the file and the reason
        hint = "" if failsafe or not _lenient_reads(path) else \
            " (--lenient skips defective objects a run does not need)"
        raise BomInputError(f"not a valid AAS {suffix[1:].upper()} file: {_as_declared(path)(_reason(exc))}{hint}",
                            Location(str(path))) from exc
    return store, files


def _lenient_reads(path: Path) -> bool:
    """Whether lenient reading gets past the file's defect, so that the hint to use it is true (some defects,
    e.g. in a shell's asset information, stop the SDK's failsafe reader too)."""
    try:
        read_file(path, lenient=True)
    except BomInputError:
        return False
    return True


def _as_declared(path: Path) -> Callable[[str], str]:
    """Messages about a V3.0 XML file (or package) name the namespace it declares, not the V3.1 one it is read
    with."""
    if path.suffix.lower() == ".xml":
        with path.open("rb") as fh:
            v30 = _XML_V30 in fh.read(4096)
    elif path.suffix.lower() == ".aasx":
        with zipfile.ZipFile(path) as archive:
            v30 = any(_XML_V30 in archive.open(info).read(4096) for info in archive.infolist()
                      if info.filename.lower().endswith(".xml") and not info.filename.startswith("[Content_Types]"))
    else:
        v30 = False
    v31_text, v30_text = _XML_V31.decode(), _XML_V30.decode()
    return (lambda text: text.replace(v31_text, v30_text)) if v30 else str


_PLACE = "in the JSON at "  # a note on a JSON decoding error: where the defect is (``_json_place``)
_CONSTRUCT = re.compile(r"Failed to construct \{[^}]*\}(\w+) on line (\d+)(?: using \w+!?)?")


def _reason(exc: BaseException) -> str:
    """The SDK's nested "Failed to construct X on line N" errors as one path down to the defect, e.g.
    ``submodel (line 28) / submodelElementList (line 284): ... already present (Constraint AASd-022)``."""
    steps: list[str] = []
    seen: set[int] = set()
    cause: BaseException | None = exc
    reason = str(exc)
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        steps.extend(note.removeprefix(_PLACE) for note in getattr(cause, "__notes__", ()) if note.startswith(_PLACE))
        found = _CONSTRUCT.match(str(cause))
        if isinstance(cause, json.JSONDecodeError):  # complete (line and column); its context is the scanner's
            reason = str(cause)
            break
        if found:
            steps.append(f"{found.group(1)} (line {found.group(2)})")
        else:
            reason = str(cause)
        cause = cause.__cause__ or cause.__context__
    return f"{' / '.join(steps)}: {reason}" if steps else reason


def _reason_text(message: str) -> str:
    """A failsafe log line, whose exception text repeats "Failed to construct" for every level."""
    return " ".join(_CONSTRUCT.sub(lambda m: f"{m.group(1)} (line {m.group(2)})", message).split())


def _refuse_v2(data: bytes, where: str) -> None:
    for namespace in _AAS_V1_V2:
        if namespace in data[:4096]:
            raise BomInputError(V2_MESSAGE.format(namespace=namespace.decode()), Location(where))


def _normalised_package(path: Path) -> Path | io.BytesIO:
    """The package as the SDK's reader takes it: relationship types of the older generation renamed,
    V3.0 XML parts given the V3.1 namespace (as for .xml files); ``path`` itself when nothing needs it.

    Only the relationship parts and the first 4 KB of XML parts are looked at; the package is copied
    (in memory: the size limits were checked before) only when a part must change. AAS V1/V2 content
    is refused with a message naming the conversion.
    """
    with zipfile.ZipFile(path) as archive:
        rewrites = set()
        for info in archive.infolist():
            name = info.filename
            if name.endswith(".rels") and _RELS_DEPRECATED in archive.read(info):
                rewrites.add(name)
            elif name.lower().endswith(".xml") and not name.startswith("[Content_Types]"):
                with archive.open(info) as part:
                    head = part.read(4096)
                _refuse_v2(head, f"{path} / {name}")
                if _XML_V30 in head:
                    rewrites.add(name)
        if not rewrites:
            return path
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as rewritten:
            for info in archive.infolist():
                data = archive.read(info)
                if info.filename in rewrites:
                    data = data.replace(_RELS_DEPRECATED, _RELS).replace(_XML_V30, _XML_V31)
                rewritten.writestr(info, data)
    buffer.seek(0)
    return buffer


def _is_package_path(value: str) -> bool:
    """A File value that names a part of the package (not an absolute URI), by the AASX rule the SDK uses."""
    return not (value.startswith("//") or ":" in value.split("/")[0])


def _package_part(value: str, base: str = "/") -> str | None:
    """The part name a package path resolves to (relative paths from the folder of ``base``, the part holding
    it), or ``None`` when a ``..`` climbs above the package root."""
    segments = [] if value.startswith("/") else base.split("/")[1:-1]
    for segment in value.split("/"):
        if segment == "..":
            if not segments:
                return None
            segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    return "/" + "/".join(segments)


class _PackageReader(aasx.AASXReader):
    """The SDK's reader, which opens the part a File value names even when ``..`` climbs out of the package (a
    zip entry ``../../x`` matches ``/../../x``, and the output package then cannot be written) and raises a bare
    KeyError for a part that is not there. Both are left to ``check_file_elements``, which names the element."""

    def _add_supplementary_file(self, part_name: str, file_path: str,
                                file_store: aasx.AbstractSupplementaryFileContainer) -> str | None:
        if _package_part(file_path, part_name) is None:
            return None
        try:
            return super()._add_supplementary_file(part_name, file_path, file_store)
        except KeyError:  # the part is not in the package
            return None


def check_file_elements(env: AasEnvironment, lenient: bool = False) -> None:
    """Every File element (and thumbnail) that points into a package must find its part there, or writing the
    output package would fail after the solve: refuse it now, with its place (lenient: warn and keep the
    reference). A plain .json or .xml has no package: a path there refers to a file elsewhere, kept as it is
    with a warning. A path that climbs out of the package is refused either way."""
    for obj in env.objects:
        if isinstance(obj, model.AssetAdministrationShell):
            thumbnail = obj.asset_information.default_thumbnail
            if thumbnail is not None and _outside(env, thumbnail.path):
                _unpackaged(env, thumbnail.path, "defaultThumbnail", Location(
                    env.origin[obj.id], "", f"{obj.id_short or obj.id}.defaultThumbnail"), lenient)
        if isinstance(obj, model.Submodel):
            for element in _file_elements(obj):
                if _outside(env, element.value):
                    path = ".".join(str(e.id_short) for e in _parents(element, obj))
                    _unpackaged(env, str(element.value), "File element", Location(env.origin[obj.id], obj.id, path),
                                lenient)


def _outside(env: AasEnvironment, value: str | None) -> bool:
    """A path into a package whose part the inputs do not hold."""
    return bool(value) and _is_package_path(str(value)) and value not in env.files


def _unpackaged(env: AasEnvironment, value: str, what: str, where: Location, lenient: bool) -> None:
    if _package_part(value) is None:
        raise BomInputError(f"{what} refers to {value!r}, whose '..' climbs out of the package: path traversal "
                            "outside the package is refused", where)
    env.references.add(value)
    if not where.source.lower().endswith(".aasx"):
        env.warnings.append(f"{where}: {what} refers to {value!r}; a {Path(where.source).suffix} file has no "
                            "package, so the path is kept as a reference to a file elsewhere (the output package "
                            "will not hold it)")
    elif lenient:
        env.warnings.append(f"{where}: {what} refers to {value!r}, which is not in the package: kept as a "
                            "reference (the output package will not hold it)")
    else:
        raise BomInputError(f"{what} refers to {value!r}, which is not in the package (--lenient keeps the "
                            "reference without the file)", where)


def _file_elements(submodel: model.Submodel) -> Iterator[model.File]:
    """The File elements at any depth (where the SDK's traversal looks), without its generator per level and
    ABC checks per element: a 2,000-position package has 113,000 elements and no File."""
    stack: list[Any] = list(submodel.submodel_element)
    while stack:
        element = stack.pop()
        kind: type = type(element)
        if _is_a(kind, model.File):
            yield element
        elif _is_a(kind, model.SubmodelElementCollection) or _is_a(kind, model.SubmodelElementList):
            stack.extend(element.value)
        elif _is_a(kind, model.Entity):
            stack.extend(element.statement)
        elif _is_a(kind, model.Operation):
            for variables in (element.input_variable, element.output_variable, element.in_output_variable):
                stack.extend(variables)


def _parents(element: model.Referable, root: model.Submodel) -> list[model.Referable]:
    chain: list[model.Referable] = []
    node: model.Referable | None = element
    while node is not None and node is not root:
        chain.append(node)
        node = node.parent if isinstance(node.parent, model.Referable) else None
    return chain[::-1]


@paused_gc()
def read_files(paths: Sequence[Path], lenient: bool = False) -> AasEnvironment:
    env = AasEnvironment()
    for path in paths:
        store, files, skipped = read_file(Path(path), lenient)
        env.warnings.extend(skipped)
        for obj in store:
            env.add(obj, str(path))
        for name in files:
            if name not in env.files:
                buf = io.BytesIO()
                files.write_file(name, buf)
                buf.seek(0)
                env.files.add_file(name, buf, files.get_content_type(name))
    if not env.objects:
        raise BomInputError("the input files contain no AAS objects", Location(", ".join(map(str, paths))))
    check_file_elements(env, lenient)
    return env


class _FastDecoder(aas_json.AASFromJsonDecoder):
    """The SDK's decoding without the work that grows with the package but changes nothing in what it builds.

    - Each distinct external reference is built once and shared (references are immutable): every Property
      carries a semanticId, so a 2,000-position BoM holds 125,000 references with a few dozen distinct values,
      and the SDK builds and validates each.
    - A collection's or list's children are added after a type check; the SDK first renders the parent's
      idShort path for a message it only needs when the check fails (100,000 renderings for 2,000 positions).
    - The class table is built once, not per object.
    """

    _references: ClassVar[dict[tuple[object, ...], model.ExternalReference]]
    _parsers: ClassVar[dict[str, Callable[[dict[str, object]], object]] | None]

    @classmethod
    def _get_aas_class_parsers(cls) -> dict[str, Callable[[dict[str, object]], object]]:
        if cls._parsers is None:
            cls._parsers = super()._get_aas_class_parsers()
        return cls._parsers

    @classmethod
    def _construct_external_reference(cls, dct: dict[str, object], object_class: type = model.ExternalReference
                                      ) -> model.ExternalReference:
        if dct.get("type") == "ModelReference":  # see _SpecReferences
            return cls._construct_model_reference(dct, model.Referable)  # type: ignore[return-value, type-abstract]
        keys = dct.get("keys")
        if object_class is not model.ExternalReference or "referredSemanticId" in dct or not isinstance(keys, list) \
                or not all(isinstance(k, dict) for k in keys):
            return super()._construct_external_reference(dct, object_class)
        memo = (dct.get("type"), *((k.get("type"), k.get("value")) for k in keys))
        reference = cls._references.get(memo)
        if reference is None:  # built (and checked) by the SDK the first time
            reference = cls._references[memo] = super()._construct_external_reference(dct, object_class)
        return reference

    @classmethod
    def _construct_submodel_element_collection(cls, dct: dict[str, object],
                                               object_class: type = model.SubmodelElementCollection
                                               ) -> model.SubmodelElementCollection:
        collection = super()._construct_submodel_element_collection(_without_value(dct), object_class)
        cls._add_children(collection, dct, model.SubmodelElement)
        return collection

    @classmethod
    def _construct_submodel_element_list(cls, dct: dict[str, object], object_class: type = model.SubmodelElementList
                                         ) -> model.SubmodelElementList:
        element_list = super()._construct_submodel_element_list(_without_value(dct), object_class)
        cls._add_children(element_list, dct, element_list.type_value_list_element)
        return element_list

    @classmethod
    def _add_children(cls, parent: model.SubmodelElementCollection | model.SubmodelElementList,
                      dct: dict[str, object], expected: type) -> None:
        """As the SDK adds them (strict: a wrong type raises; failsafe: it is logged and left out)."""
        if cls.stripped or "value" not in dct:
            return
        for element in json_deserialization._get_ts(dct, "value", list):
            if isinstance(element, expected) or json_deserialization._expect_type(element, expected, str(parent),
                                                                                  cls.failsafe):
                parent.value.add(element)


class _SpecReferences(aas_xml.AASFromXmlDecoder):
    """The specification types ``SpecificAssetId/externalSubjectId`` and ``EmbeddedDataSpecification/
    dataSpecification`` as any Reference, and aas-core3.0 and 3.1 accept a ModelReference there (the
    specification's own ``Entity_maximal`` and ``SubmodelElementList_maximal`` examples carry one); the SDK
    insists on an ExternalReference. Where the SDK is stricter than the specification, the specification wins
    (``_FastDecoder`` does the same for JSON)."""

    @classmethod
    def construct_external_reference(cls, element: Any, namespace: str = xml_deserialization.NS_AAS,
                                     object_class: type = model.ExternalReference, **kwargs: Any
                                     ) -> model.ExternalReference:
        if element.findtext(xml_deserialization.NS_AAS + "type") == "ModelReference":
            return cls.construct_model_reference(element, **kwargs)  # type: ignore[return-value]
        return super().construct_external_reference(element, namespace, object_class, **kwargs)


def _read_aas_xml_file(file: Any, failsafe: bool = True, **kwargs: Any) -> model.DictIdentifiableStore:
    base = aas_xml.AASFromXmlDecoder if failsafe else aas_xml.StrictAASFromXmlDecoder
    return aas_xml.read_aas_xml_file(file, decoder=type("XmlDecoder", (_SpecReferences, base), {}), **kwargs)


aasx.read_aas_xml_file = _read_aas_xml_file  # the AASX reader's XML parts too


def _without_value(dct: dict[str, object]) -> dict[str, object]:
    return {key: item for key, item in dct.items() if key != "value"}


def json_decoder(failsafe: bool) -> type[aas_json.AASFromJsonDecoder]:
    """A decoder class (for ``json.load(cls=...)``) with its own reference table, for one file or one server
    answer, strict or failsafe like the SDK's."""
    base = aas_json.AASFromJsonDecoder if failsafe else aas_json.StrictAASFromJsonDecoder
    return type("Decoder", (_FastDecoder, base), {"_references": {}, "_parsers": None})


def _read_aas_json_file(file: Any, failsafe: bool = True, **kwargs: Any) -> model.DictIdentifiableStore:
    try:
        return aas_json.read_aas_json_file(file, failsafe=failsafe, decoder=json_decoder(failsafe), **kwargs)
    except json.JSONDecodeError:
        raise  # its message has the line and column
    except Exception as exc:  # the SDK's exception as it is, with the place as a note (for ``_reason``)
        place = _json_place(file) if not failsafe and hasattr(file, "seek") else None
        if place is not None:
            exc.add_note(_PLACE + place)
        raise


class _JsonPositions(json.JSONDecoder):
    """Plain JSON with the offset of each object: the pure-Python scanner with its object parser wrapped (the C
    scanner reports no positions). Slow, so only for locating a defect the fast reading found."""

    def __init__(self) -> None:
        super().__init__()
        self.offsets: dict[int, int] = {}
        self.parse_object = self._object
        self.scan_once = json.scanner.py_make_scanner(self)  # type: ignore[attr-defined]

    def _object(self, s_and_end: tuple[str, int], *args: Any) -> tuple[dict[str, Any], int]:
        found, end = json.decoder.JSONObject(s_and_end, *args)  # type: ignore[attr-defined]
        self.offsets[id(found)] = s_and_end[1] - 1
        return found, end


class _Refused(Exception):
    def __init__(self, place: str) -> None:
        super().__init__(place)
        self.place = place


def _json_place(file: Any) -> str | None:
    """Where in a JSON document the strict decoder refuses an object: the objects are decoded again, innermost
    first as ``json.load`` does, keeping the JSON pointer, the identifiable's id, the idShort path and the line of
    each, until one raises. ``None`` when it is no single object (the document's top level)."""
    file.seek(0)
    text = file.read()
    parser = _JsonPositions()
    try:
        document = parser.decode(text)
    except ValueError:
        return None
    hook = json_decoder(failsafe=False).object_hook

    def decoded(node: Any, pointer: str, names: tuple[str, ...], index: int | None = None) -> Any:
        if isinstance(node, list):
            return [decoded(item, f"{pointer}/{i}", names, i) for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("id"), str):
            names = (f"{node.get('modelType', 'object')} {node['id']}",)
        elif isinstance(node.get("idShort"), str):
            names = (*names, node["idShort"])
        elif index is not None and len(names) > 1:  # an item of a SubmodelElementList
            names = (*names[:-1], f"{names[-1]}[{index}]")
        built = {key: decoded(value, f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}", names)
                 for key, value in node.items()}
        try:
            return hook(built)
        except _Refused:
            raise
        except Exception as exc:
            line = text.count("\n", 0, parser.offsets.get(id(node), 0)) + 1
            where = " / ".join(names[:1] + ((".".join(names[1:]),) if names[1:] else ()))
            raise _Refused(f"{where + ' ' if where else ''}(JSON {pointer or '/'}, line {line})") from exc

    try:
        decoded(document, "", ())
    except _Refused as refused:
        return refused.place
    return None


aasx.read_aas_json_file = _read_aas_json_file  # the AASX reader's JSON parts go through the faster decoder


class AasJsonEncoder(aas_json.AASToJsonEncoder):
    """The SDK's encoder without its ``"specificAssetIds": []`` on every Entity (basyx-python-sdk 2.x tests a
    list for ``None``), which the V3.0 schema forbids ("Empty array not allowed" in aas_test_engines).

    It also finds each class's serialiser once: the SDK's ``default`` rebuilds its table of 28 classes and
    walks it with ``isinstance`` for every object, most of the time of writing a large package."""

    _serializers: ClassVar[dict[type, Callable[[Any], object]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # equal references serialise alike: a large package repeats a few hundred semanticIds 100,000 times
        self._references: dict[model.Reference, object] = {}

    def default(self, obj: object) -> object:
        if isinstance(obj, model.Reference):
            found = self._references.get(obj)
            if found is None:  # plain data all the way down, so the C encoder never calls back for its keys
                found = self._reference_to_json(obj)
                found["keys"] = [self._key_to_json(key) for key in obj.key]
                if obj.referred_semantic_id is not None:
                    found["referredSemanticId"] = self.default(obj.referred_semantic_id)
                self._references[obj] = found
            return found
        serializer = self._serializers.get(type(obj))
        if serializer is None:
            serializer = next((method for typ, method in self._get_aas_class_serializers().items()
                               if isinstance(obj, typ)), None)
            if serializer is None:
                return super().default(obj)
            self._serializers[type(obj)] = serializer
        return serializer(obj)

    @classmethod
    def _abstract_classes_to_json(cls, obj: Any) -> dict[str, object]:
        """The SDK's, with its class checks (seven ABC ``isinstance`` calls and a walk of the class's MRO for
        the model type's name, for each of the 121,000 referables of a 2,000-position package) answered once per
        class. ``tests/aas/test_aas_json.py`` holds it to the SDK's text."""
        kind: type = type(obj)
        data: dict[str, object] = {}
        if _is_a(kind, model.HasExtension) and not cls.stripped and obj.extension:
            data["extensions"] = list(obj.extension)
        if _is_a(kind, model.HasDataSpecification) and not cls.stripped and obj.embedded_data_specifications:
            data["embeddedDataSpecifications"] = [
                {"dataSpecification": spec.data_specification,
                 "dataSpecificationContent": spec.data_specification_content}
                for spec in obj.embedded_data_specifications]
        if _is_a(kind, model.Referable):
            parent: type = type(obj.parent)
            if obj.id_short and not _is_a(parent, model.SubmodelElementList):
                data["idShort"] = obj.id_short
            if obj.display_name:
                data["displayName"] = obj.display_name
            if obj.category:
                data["category"] = obj.category
            if obj.description:
                data["description"] = obj.description
            data["modelType"] = _model_type(obj)
        if _is_a(kind, model.Identifiable):
            data["id"] = obj.id
            if obj.administration:
                data["administration"] = obj.administration
        if _is_a(kind, model.HasSemantics):
            if obj.semantic_id:
                data["semanticId"] = obj.semantic_id
            if obj.supplemental_semantic_id:
                data["supplementalSemanticIds"] = list(obj.supplemental_semantic_id)
        if _is_a(kind, model.HasKind) and obj.kind is model.ModellingKind.TEMPLATE:
            data["kind"] = json_serialization._generic.MODELLING_KIND[obj.kind]
        if _is_a(kind, model.Qualifiable) and not cls.stripped and obj.qualifier:
            data["qualifiers"] = list(obj.qualifier)
        return data

    @classmethod
    def _entity_to_json(cls, obj: model.Entity) -> dict[str, object]:
        data = super()._entity_to_json(obj)
        if not data.get("specificAssetIds"):
            data.pop("specificAssetIds", None)
        return data


@functools.cache
def _is_a(kind: type, base: type) -> bool:
    return issubclass(kind, base)


_MODEL_TYPES: dict[type, str] = {}


def _model_type(obj: model.Referable) -> str:
    """The metamodel class name of ``obj`` (a class's own, or its nearest AAS ancestor's), once per class."""
    name = _MODEL_TYPES.get(type(obj))
    if name is None:
        name = _MODEL_TYPES[type(obj)] = model.resolve_referable_class_in_key_types(obj).__name__
    return name


def _write_aas_json_file(file: Any, data: model.AbstractObjectStore, stripped: bool = False,
                         encoder: type[aas_json.AASToJsonEncoder] | None = None, **kwargs: Any) -> None:
    """The SDK's writer, encoded in one ``json.dumps`` (the C encoder) instead of ``json.dump``'s pure-Python
    chunks: the same text, several times faster."""
    if stripped or encoder not in (None, AasJsonEncoder):
        aas_json.write_aas_json_file(file, data, stripped, encoder, **kwargs)
        return
    # _create_dict: the SDK's own top-level shape (shells, submodels, concept descriptions)
    text = json.dumps(json_serialization._create_dict(data), cls=AasJsonEncoder, **kwargs)
    if hasattr(file, "encoding"):
        file.write(text)
    else:
        file.write(text.encode("utf-8"))


aasx.write_aas_json_file = _write_aas_json_file  # the AASX writer's JSON parts go through the mended encoder


@paused_gc()
def write_json(path: Path, objects: Iterable[model.Identifiable], indent: int | None = 2) -> None:
    """An AAS JSON file; ``indent=None`` writes one line, several times faster (Python's C encoder only
    runs without indentation), for files that grow with the BoM."""
    with atomic_write(path) as fh:
        _write_aas_json_file(fh, model.DictIdentifiableStore(objects), indent=indent)


@paused_gc()
def write_aasx(path: Path, objects: Iterable[model.Identifiable],
               files: aasx.DictSupplementaryFileContainer | None = None, references: Collection[str] = ()) -> None:
    """An AASX package with one JSON part holding all objects (V3.0 consumers can read it).

    ``references``: File paths without their part (``AasEnvironment.references``), written as they are; the
    SDK's writer fails on them unless failsafe, which it is then (it changes nothing else in writing files)."""
    with atomic_write(path, "wb") as fh, aasx.AASXWriter(fh, failsafe=bool(references)) as writer:
        writer.write_all_aas_objects("/aasx/data.json", model.DictIdentifiableStore(objects),
                                     files or aasx.DictSupplementaryFileContainer(), write_json=True)
