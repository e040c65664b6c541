"""A small XML Schema 1.0 checker for the AMF tests (stdlib only).

No XSD validator (lxml, xmlschema) is in the locked environment, so this reads
the real schema files (tests/handoff/data/aces-amf: acesMetadataFile.xsd v2.0
and ASC-CDL_schema_v1.01.xsd from github.com/ampas/aces-amf, Apache-2.0, see
LICENSE there) and checks a document against them: content models (sequence,
choice, element/ref with minOccurs/maxOccurs, complexContent extension),
required attributes, and simple types (pattern, enumeration, length, min/max
facets, lists, the built-in types used by these schemas), substitution groups.
Not covered: identity constraints, wildcards, xs:all, and the types of
the SMPTE ST 433 and XML-DSig schemas the AMF schema imports (only
``dcml:UUIDType`` is checked, with ST 433's pattern written out below).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

XS = "http://www.w3.org/2001/XMLSchema"
# SMPTE ST 433:2008 dcmlTypes UUIDType (urn:uuid:, RFC 4122 hex groups).
UUID_PATTERN = (
    "urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    "[0-9a-fA-F]{12}"
)
DCML = "http://www.smpte-ra.org/schemas/433/2008/dcmlTypes/"


def _q(el: ET.Element, text: str) -> str:
    """Resolve a QName (``prefix:local`` or ``local``) in the scope of ``el``."""
    ns_map: dict[str, str] = el.attrib.get("__ns__", {})  # type: ignore[assignment]
    prefix, _, local = text.rpartition(":")
    return f"{{{ns_map.get(prefix, '')}}}{local}"


def _parse_with_ns(path: Path) -> ET.Element:
    """Parse, storing each element's in-scope namespace map as ``__ns__``."""
    stack: list[dict[str, str]] = [{}]
    root: ET.Element | None = None
    pending: dict[str, str] = {}
    for event, item in ET.iterparse(path, events=("start-ns", "start", "end")):
        if event == "start-ns":
            prefix, uri = item  # type: ignore[misc]
            pending[prefix] = uri
        elif event == "start":
            scope = {**stack[-1], **pending}
            pending = {}
            stack.append(scope)
            item.attrib["__ns__"] = scope  # type: ignore[index, assignment, union-attr]
            if root is None:
                root = item  # type: ignore[assignment]
        else:
            stack.pop()
    assert root is not None
    return root


@dataclass
class Schema:
    complex_types: dict[str, ET.Element] = field(default_factory=dict)
    simple_types: dict[str, ET.Element] = field(default_factory=dict)
    elements: dict[str, ET.Element] = field(default_factory=dict)

    @classmethod
    def load(cls, *paths: Path) -> Schema:
        schema = cls()
        for path in paths:
            root = _parse_with_ns(path)
            tns = root.get("targetNamespace", "")
            for child in root:
                name = child.get("name")
                if not name:
                    continue
                key = f"{{{tns}}}{name}"
                if child.tag == f"{{{XS}}}complexType":
                    schema.complex_types[key] = child
                elif child.tag == f"{{{XS}}}simpleType":
                    schema.simple_types[key] = child
                elif child.tag == f"{{{XS}}}element":
                    child.attrib["__tns__"] = tns
                    schema.elements[key] = child
        return schema

    def _substitutes(self, head: str) -> list[str]:
        """Global elements whose substitutionGroup chain leads to ``head``."""
        found = []
        for name, decl in self.elements.items():
            group = decl.get("substitutionGroup")
            if group and _q(decl, group) == head:
                found += [name, *self._substitutes(name)]
        return found

    # -- content models --------------------------------------------------
    def _particle(self, el: ET.Element, tns: str, decls: dict[str, ET.Element]) -> str:
        tag = el.tag.rsplit("}", 1)[-1]
        lo = int(el.get("minOccurs", "1"))
        hi = el.get("maxOccurs", "1")
        if tag == "element":
            if el.get("ref"):
                qname = _q(el, el.get("ref", ""))
                names = [qname, *self._substitutes(qname)]
                for name in names:
                    decls[name] = self.elements[name]
                alts = "|".join(re.escape(n + " ") for n in names)
                body = f"(?:{alts})"
                upper = "" if hi == "unbounded" else str(int(hi))
                return f"{body}{{{lo},{upper}}}"
            else:
                qname = f"{{{tns}}}{el.get('name')}"
                decls.setdefault(qname, el)
            body = "(?:" + re.escape(qname + " ") + ")"
        elif tag in ("sequence", "choice"):
            parts = [
                self._particle(c, tns, decls)
                for c in el
                if c.tag.rsplit("}", 1)[-1] in ("element", "sequence", "choice")
            ]
            joiner = "" if tag == "sequence" else "|"
            body = "(?:" + joiner.join(parts) + ")"
        else:
            return ""
        upper = "" if hi == "unbounded" else str(int(hi))
        return f"{body}{{{lo},{upper}}}"

    def _model(
        self, ctype: ET.Element, tns: str
    ) -> tuple[str, dict[str, ET.Element], list[ET.Element], ET.Element | None]:
        """(regex, child declarations, attribute decls, simple content base)."""
        decls: dict[str, ET.Element] = {}
        attrs: list[ET.Element] = []
        regex = ""
        simple: ET.Element | None = None
        for child in ctype:
            tag = child.tag.rsplit("}", 1)[-1]
            if tag in ("sequence", "choice", "element"):
                regex += self._particle(child, tns, decls)
            elif tag == "attribute":
                attrs.append(child)
            elif tag in ("complexContent", "simpleContent"):
                (ext,) = [
                    c for c in child if c.tag.endswith(("extension", "restriction"))
                ]
                base = _q(ext, ext.get("base", ""))
                if base in self.complex_types:
                    b_regex, b_decls, b_attrs, _ = self._model(
                        self.complex_types[base], base[1:].split("}")[0]
                    )
                    regex += b_regex
                    decls.update(b_decls)
                    attrs += b_attrs
                elif tag == "simpleContent":
                    simple = ext
                r2, d2, a2, _ = self._model(ext, tns)
                regex += r2
                decls.update(d2)
                attrs += a2
        return regex, decls, attrs, simple

    # -- simple types ----------------------------------------------------
    def _check_simple(self, type_el: ET.Element | str, text: str, where: str) -> None:
        if isinstance(type_el, str):
            if type_el in self.simple_types:
                self._check_simple(self.simple_types[type_el], text, where)
            else:
                _check_builtin(type_el, text, where)
            return
        for child in type_el:
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "restriction":
                base = child.get("base")
                inner = [c for c in child if c.tag.endswith("simpleType")]
                if base:
                    self._check_simple(_q(child, base), text, where)
                for c in inner:
                    self._check_simple(c, text, where)
                _check_facets(child, text, where)
            elif tag == "list":
                item = _q(child, child.get("itemType", ""))
                for token in text.split():
                    self._check_simple(item, token, where)
            elif tag == "union":
                members = [_q(child, m) for m in child.get("memberTypes", "").split()]
                errors = []
                for m in members:
                    try:
                        self._check_simple(m, text, where)
                        break
                    except AssertionError as err:
                        errors.append(str(err))
                else:
                    raise AssertionError(f"{where}: {text!r} fits no union member")

    def _check_value(self, decl: ET.Element, text: str, where: str) -> None:
        type_name = decl.get("type")
        if type_name:
            qname = _q(decl, type_name)
            if qname in self.complex_types:
                return
            self._check_simple(qname, text, where)
        for inline in decl:
            if inline.tag == f"{{{XS}}}simpleType":
                self._check_simple(inline, text, where)

    # -- documents -------------------------------------------------------
    def validate(self, root: ET.Element) -> None:
        """Raise AssertionError naming the first place ``root`` breaks the schema."""
        decl = self.elements.get(root.tag)
        assert decl is not None, f"{root.tag} is not a global element of the schema"
        self._validate(root, decl, root.tag)

    def _validate(self, el: ET.Element, decl: ET.Element, where: str) -> None:
        type_name = decl.get("type")
        inline = [c for c in decl if c.tag == f"{{{XS}}}complexType"]
        tns = decl.get("__tns__") or el.tag[1:].split("}")[0]
        if type_name and _q(decl, type_name) in self.complex_types:
            qname = _q(decl, type_name)
            ctype = self.complex_types[qname]
            tns = qname[1:].split("}")[0]
        elif inline:
            ctype = inline[0]
        else:
            assert len(el) == 0, f"{where}: simple element has children"
            self._check_value(decl, el.text or "", where)
            return
        regex, decls, attrs, simple = self._model(ctype, tns)
        kids = "".join(c.tag + " " for c in el)
        assert re.fullmatch(regex, kids), (
            f"{where}: children {[c.tag for c in el]} break the content model"
        )
        for attr in attrs:
            name = attr.get("name", "")
            if attr.get("use") == "required":
                assert name in el.attrib, f"{where}: required attribute {name!r}"
            if attr.get("fixed") is not None and name in el.attrib:
                assert float(el.attrib[name]) == float(attr.get("fixed", "nan"))
            if name in el.attrib and attr.get("type"):
                self._check_simple(
                    _q(attr, attr.get("type", "")), el.attrib[name], where
                )
        allowed = {a.get("name") for a in attrs}
        extra = set(el.attrib) - allowed
        assert not extra, f"{where}: attributes {extra} not declared"
        if simple is not None:
            self._check_simple(_q(simple, simple.get("base", "")), el.text or "", where)
        for i, child in enumerate(el):
            child_decl = decls[child.tag]
            self._validate(child, child_decl, f"{where}/{child.tag}[{i}]")


def _check_facets(restriction: ET.Element, text: str, where: str) -> None:
    patterns = [c.get("value", "") for c in restriction if c.tag.endswith("pattern")]
    if patterns:
        # XSD patterns are anchored; several pattern facets in one step are ORed.
        assert any(re.fullmatch(p, text) for p in patterns), (
            f"{where}: {text!r} matches no pattern of the schema"
        )
    enums = [c.get("value") for c in restriction if c.tag.endswith("enumeration")]
    if enums:
        assert text in enums, f"{where}: {text!r} not in {enums}"
    for c in restriction:
        tag, value = c.tag.rsplit("}", 1)[-1], c.get("value", "")
        if tag == "length":
            assert len(text.split()) == int(value), f"{where}: length {value}"
        elif tag == "minInclusive":
            assert float(text) >= float(value), f"{where}: {text} < {value}"
        elif tag == "maxInclusive":
            assert float(text) <= float(value), f"{where}: {text} > {value}"
        elif tag == "minExclusive":
            assert float(text) > float(value), f"{where}: {text} <= {value}"
        elif tag == "totalDigits":
            assert len(text.strip().lstrip("-+")) <= int(value)


def _check_builtin(qname: str, text: str, where: str) -> None:
    ns, local = qname[1:].split("}")
    if ns == DCML and local == "UUIDType":
        assert re.fullmatch(UUID_PATTERN, text), f"{where}: {text!r} not a UUID"
        return
    if ns != XS:
        return  # imported schemas not shipped (ST 433 other types, XML-DSig)
    if local in ("float", "double", "decimal"):
        value = float(text)
        assert local != "decimal" or math.isfinite(value)
    elif local in ("integer", "nonNegativeInteger"):
        assert re.fullmatch(r"[+-]?\d+", text.strip()), f"{where}: {text!r}"
        assert local == "integer" or int(text) >= 0
    elif local == "boolean":
        assert text in ("true", "false", "1", "0"), f"{where}: {text!r}"
    elif local == "dateTime":
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    elif local == "anyURI":
        assert not re.search(r"[\x00-\x1f\x7f]", text), f"{where}: {text!r}"
