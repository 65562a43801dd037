"""Component classes from reference designators: `R12` is a resistor, `C3` a capacitor.

In-circuit and flying-probe testers report one row per component; a test engineer browses them
by class (all resistors, all capacitors, ...), so converters group steps into one sequence per
class. The class is read from the leading letters of the reference designator (IEEE 315 /
IEC 81346 practice), longest known prefix first, case-insensitive:

| prefix | class |
|---|---|
| R, RN, RA, RP | Resistors |
| VR, RV, POT | Potentiometers |
| C, CN | Capacitors |
| L | Inductors |
| FB, FL | Ferrites and filters |
| D, CR, Z, ZD | Diodes |
| LED | LEDs |
| Q, T, TR | Transistors |
| U, IC, I | Integrated circuits |
| J, P, X, CON | Connectors |
| K, RL | Relays |
| F | Fuses |
| Y, XTAL | Crystals |
| SW, S | Switches |
| TP | Test points |
| JP, W | Jumpers |
| BT, B | Batteries |
| TX, XFMR | Transformers |

Anything else (no letters, an unknown prefix) is "Other components".
"""

from __future__ import annotations

import re

OTHER = "Other components"
CLASSES: dict[str, str] = {
    "R": "Resistors",
    "RN": "Resistors",
    "RA": "Resistors",
    "RP": "Resistors",
    "VR": "Potentiometers",
    "RV": "Potentiometers",
    "POT": "Potentiometers",
    "C": "Capacitors",
    "CN": "Capacitors",
    "L": "Inductors",
    "FB": "Ferrites and filters",
    "FL": "Ferrites and filters",
    "D": "Diodes",
    "CR": "Diodes",
    "Z": "Diodes",
    "ZD": "Diodes",
    "LED": "LEDs",
    "Q": "Transistors",
    "T": "Transistors",
    "TR": "Transistors",
    "U": "Integrated circuits",
    "IC": "Integrated circuits",
    "I": "Integrated circuits",
    "J": "Connectors",
    "P": "Connectors",
    "X": "Connectors",
    "CON": "Connectors",
    "K": "Relays",
    "RL": "Relays",
    "F": "Fuses",
    "Y": "Crystals",
    "XTAL": "Crystals",
    "SW": "Switches",
    "S": "Switches",
    "TP": "Test points",
    "JP": "Jumpers",
    "W": "Jumpers",
    "BT": "Batteries",
    "B": "Batteries",
    "TX": "Transformers",
    "XFMR": "Transformers",
}
_LETTERS = re.compile(r"^\s*([A-Za-z]+)")


def component_class(reference: str) -> str:
    """The component class ("Resistors", "Capacitors", ...) of reference designator `reference`.

    The leading letters decide, longest known prefix first (`LED3` is an LED, `L3` an
    inductor, `RL1` a relay); see the module docstring for the table.
    """
    match = _LETTERS.match(reference)
    if match is None:
        return OTHER
    letters = match.group(1).upper()
    for length in range(len(letters), 0, -1):
        found = CLASSES.get(letters[:length])
        if found is not None:
            return found
    return OTHER
