"""Contract elements found by semanticId (never by idShort), with their value type checked where they are read:
a missing required element, a wrong value type or an element of the wrong kind is a ``BomInputError`` naming the
source, the submodel id and the idShort path."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from basyx.aas import model

from aas_quantum.aas import schema as sc
from aas_quantum.errors import BomInputError, Location

NUMERIC = ("xs:double", "xs:int")


def semantic_key(element: model.HasSemantics) -> str:
    sid = element.semantic_id
    return sid.key[0].value if sid is not None and sid.key else ""


def version_of(submodel: model.Submodel) -> str:
    admin = submodel.administration
    if admin is None or admin.version is None:
        return ""
    return admin.version + (f".{admin.revision}" if admin.revision is not None else "")


class Node:
    """The children of a submodel or collection, looked up by the semanticId of a contract field."""

    def __init__(self, children: Iterable[model.SubmodelElement], location: Location) -> None:
        self.location = location
        self.by_semantic: dict[str, model.SubmodelElement] = {}
        for child in children:
            self.by_semantic.setdefault(semantic_key(child), child)

    def element(self, f: sc.Field, required: bool | None = None) -> model.SubmodelElement | None:
        found = self.by_semantic.get(f.semantic_id)
        if found is None and (f.required if required is None else required):
            raise BomInputError(f"missing required element {f.name} (semanticId {f.semantic_id})",
                                self.location.child(f.name))
        return found

    def value(self, f: sc.Field, required: bool | None = None) -> Any:
        found = self.element(f, required)
        if found is None:
            return None
        if not isinstance(found, model.Property):
            raise BomInputError(f"expected a Property, found a {type(found).__name__}", self._at(found, f))
        if found.value is None:
            if f.required if required is None else required:
                raise BomInputError(f"required element {f.name} has no value", self._at(found, f))
            return None
        if f.value_type in NUMERIC:
            if isinstance(found.value, bool) or not isinstance(found.value, int | float | Decimal):
                raise BomInputError(
                    f"wrong value type: {f.name} must be numeric ({f.value_type}), got "
                    f"{model.datatypes.XSD_TYPE_NAMES.get(found.value_type, found.value_type)} {found.value!r}",
                    self._at(found, f))
            return finite(found.value, f.name, lambda: self._at(found, f), integer=f.value_type == "xs:int")
        return str(found.value)

    def _at(self, found: model.SubmodelElement, f: sc.Field) -> Location:
        """The element's place, for a message (built only when there is one to give: 100,000 values per package)."""
        return self.location.child(found.id_short or f.name)

    def strings(self, f: sc.Field) -> tuple[str, ...]:
        return tuple(str(item.value) for item, _ in self.items(f) if isinstance(item, model.Property)
                     and item.value is not None)

    def items(self, f: sc.Field) -> list[tuple[model.SubmodelElement, Location]]:
        found = self.element(f)
        if found is None:
            return []
        loc = self.location.child(found.id_short or f.name)
        if not isinstance(found, model.SubmodelElementList):
            raise BomInputError(f"expected a SubmodelElementList, found a {type(found).__name__}", loc)
        return [(item, loc.child(f"[{i}]")) for i, item in enumerate(found.value)]

    def collections(self, f: sc.Field) -> list[Node]:
        nodes = []
        for item, loc in self.items(f):
            if not isinstance(item, model.SubmodelElementCollection):
                raise BomInputError(f"expected a SubmodelElementCollection, found a {type(item).__name__}", loc)
            nodes.append(Node(item.value, loc))
        return nodes

    def collection(self, f: sc.Field) -> Node | None:
        found = self.element(f)
        if found is None:
            return None
        loc = self.location.child(found.id_short or f.name)
        if not isinstance(found, model.SubmodelElementCollection):
            raise BomInputError(f"expected a SubmodelElementCollection, found a {type(found).__name__}", loc)
        return Node(found.value, loc)


def finite(value: int | float | Decimal, name: str, where: Location | Callable[[], Location],
            integer: bool = False) -> float:
    """Every number the optimisation reads is finite: NaN passes every comparison (a NaN weight would
    satisfy any weight limit) and infinity breaks the solvers, so both are input errors here."""
    number = float(value)
    if not math.isfinite(number):
        raise BomInputError(f"{name} must be a finite number, got {value!r}",
                            where if isinstance(where, Location) else where())
    return int(value) if integer else number


def root(submodel: model.Submodel, source: str) -> Node:
    return Node(submodel.submodel_element, Location(source, submodel.id))


def field_named(table: tuple[sc.Field, ...], name: str) -> sc.Field:
    return next(f for f in table if f.name == name)
