"""component_class: the reference designators ICT, flying-probe and boundary-scan tests are named by."""

from __future__ import annotations

import pytest

from wats_converter.converters import component_class


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("R508", "Resistors"),
        ("r12", "Resistors"),
        ("R1K-ADP", "Resistors"),
        ("RN3", "Resistor networks"),
        ("C206", "Capacitors"),
        ("L13", "Inductors"),
        ("D112_START", "Diodes"),
        ("V230", "Semiconductors"),
        ("Q4", "Transistors"),
        ("U12", "Integrated circuits"),
        ("IC3", "Integrated circuits"),
        ("K500_RLY1_NO", "Relays"),
        ("JP6", "Jumpers"),
        ("J12", "Connectors"),
        ("TP301", "Test points"),
        # a designator in brackets names the part a special test measures
        ("DSC-CP[C109]", "Capacitors"),
        ("RS[R442+R657]", "Resistors"),
        ("DS[V17]", "Semiconductors"),
        # else the first word that is a designator
        ("DSC-C241(2)", "Capacitors"),
        ("JSCAN J12", "Connectors"),
        # names that are no designator
        ("SETCR", "Other"),
        ("PS_OFF", "Other"),
        ("LNK2TP $$SIGNAL1", "Other"),
        ("SHO CHN $2N138", "Other"),
        ("5.3.1 12V_5V_3.3V", "Other"),
        ("", "Other"),
    ],
)
def test_component_class_of_a_reference(reference: str, name: str) -> None:
    assert component_class(reference).name == name


def test_classes_carry_their_prefix() -> None:
    assert component_class("C7").prefix == "C"
    assert component_class("NOPE").prefix == ""


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("R12", "Resistors"),
        ("r7", "Resistors"),
        ("RN3", "Resistor networks"),
        ("C14*", "Capacitors"),
        ("C1*(NM)", "Capacitors"),
        ("L2", "Inductors"),
        ("LED3", "Diodes"),
        ("D4", "Diodes"),
        ("Q1", "Transistors"),
        ("U83", "Integrated circuits"),
        ("IC7", "Integrated circuits"),
        ("I13", "Integrated circuits"),
        ("J4", "Connectors"),
        ("K2", "Relays"),
        ("RL1", "Relays"),
        ("F1", "Fuses"),
        ("Y1", "Crystals"),
        ("SW1", "Switches"),
        ("TP5", "Test points"),
        ("JP2", "Jumpers"),
        ("FB1", "Inductors"),
        ("VR1", "Potentiometers"),
        ("E4", "Other"),
        ("123", "Other"),
        ("", "Other"),
    ],
)
def test_component_class_of_flying_probe_parts(reference: str, expected: str) -> None:
    assert component_class(reference).name == expected
