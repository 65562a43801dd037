"""component_class: the class of a component from its reference designator."""

from __future__ import annotations

import pytest

from wats_converter.converters import component_class


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("R12", "Resistors"),
        ("r7", "Resistors"),
        ("RN3", "Resistors"),
        ("C14*", "Capacitors"),
        ("C1*(NM)", "Capacitors"),
        ("L2", "Inductors"),
        ("LED3", "LEDs"),
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
        ("FB1", "Ferrites and filters"),
        ("VR1", "Potentiometers"),
        ("E4", "Other components"),
        ("123", "Other components"),
        ("", "Other components"),
    ],
)
def test_component_class(reference: str, expected: str) -> None:
    assert component_class(reference) == expected
