"""The component class of a reference designator (`R12` a resistor, `C7` a capacitor, ...).

In-circuit, flying-probe and boundary-scan testers name each test after the part it measures.
Grouping a unit's steps by component class (all resistors, all capacitors, ...) is what a test
engineer expects in WATS, so converters for those testers share one reading of designators:

- the letters before the first digit are the class prefix: `R12`, `R1K-ADP`, `K500_RLY1_NO`;
- a designator in brackets wins over the test's own name: `DSC-CP[C109]` (a discharge test of
  capacitor C109) and `RS[R442+R657]` are a capacitor and a resistor test;
- otherwise the first word (split at spaces, `-`, `_`, `+`, ...) that is a known designator:
  `DSC-C241` is capacitor C241;
- anything else (`SHO NET`, `PS_OFF`, `LNK2TP`) is `OTHER`.

Prefixes follow IEEE 315 / IEC 81346 usage; `V` is a semiconductor (diode or transistor) as in
European designations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ComponentClass:
    """A kind of component: its designator prefix (`R`) and its plural name (`Resistors`)."""

    prefix: str
    name: str


OTHER = ComponentClass("", "Other")
CLASSES = {
    c.prefix: c
    for c in (
        ComponentClass("R", "Resistors"),
        ComponentClass("RN", "Resistor networks"),
        ComponentClass("RP", "Resistor networks"),
        ComponentClass("C", "Capacitors"),
        ComponentClass("L", "Inductors"),
        ComponentClass("FB", "Inductors"),
        ComponentClass("D", "Diodes"),
        ComponentClass("LED", "Diodes"),
        ComponentClass("Z", "Diodes"),
        ComponentClass("V", "Semiconductors"),
        ComponentClass("Q", "Transistors"),
        ComponentClass("T", "Transformers"),
        ComponentClass("U", "Integrated circuits"),
        ComponentClass("IC", "Integrated circuits"),
        ComponentClass("K", "Relays"),
        ComponentClass("F", "Fuses"),
        ComponentClass("S", "Switches"),
        ComponentClass("SW", "Switches"),
        ComponentClass("J", "Connectors"),
        ComponentClass("P", "Connectors"),
        ComponentClass("X", "Connectors"),
        ComponentClass("JP", "Jumpers"),
        ComponentClass("Y", "Crystals"),
        ComponentClass("TP", "Test points"),
        ComponentClass("RA", "Resistor networks"),
        ComponentClass("VR", "Potentiometers"),
        ComponentClass("RV", "Potentiometers"),
        ComponentClass("POT", "Potentiometers"),
        ComponentClass("CN", "Capacitors"),
        ComponentClass("FL", "Inductors"),
        ComponentClass("CR", "Diodes"),
        ComponentClass("ZD", "Diodes"),
        ComponentClass("TR", "Transistors"),
        ComponentClass("I", "Integrated circuits"),
        ComponentClass("CON", "Connectors"),
        ComponentClass("RL", "Relays"),
        ComponentClass("XTAL", "Crystals"),
        ComponentClass("W", "Jumpers"),
        ComponentClass("BT", "Batteries"),
        ComponentClass("B", "Batteries"),
        ComponentClass("TX", "Transformers"),
        ComponentClass("XFMR", "Transformers"),
    )
}
_BRACKETED = re.compile(r"\[([A-Za-z]+)\d")
_DESIGNATOR = re.compile(r"^([A-Za-z]+)\d")
_WORDS = re.compile(r"[\s\-_+/,;:()\[\]]+")


def component_class(reference: str) -> ComponentClass:
    """The class of the component a test named `reference` measures (`OTHER` if unknown).

    >>> component_class("R508").name, component_class("DSC-CP[C109]").name
    ('Resistors', 'Capacitors')
    """
    bracketed = _BRACKETED.search(reference)
    if bracketed is not None and bracketed.group(1).upper() in CLASSES:
        return CLASSES[bracketed.group(1).upper()]
    for word in _WORDS.split(reference):
        match = _DESIGNATOR.match(word)
        if match is not None and match.group(1).upper() in CLASSES:
            return CLASSES[match.group(1).upper()]
    return OTHER
