"""Writes the derived TestStand test files from the real samples (run once; the outputs are kept).

    .venv/bin/python tests/data/derive_teststand_variants.py

Each output is a real sample rewritten the way TestStand would have written another run: the
namespaces of another ATML generation, a batch of two UUTs, more step kinds in TestStand's own
element shapes, iso-8859-1 text. tests/data/atml/SOURCES.md and tests/data/teststand-xml/
SOURCES.md say which file comes from which sample and what was changed.
"""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).parent
ATML = DATA / "atml"
TSXML = DATA / "teststand-xml"
ATML_202 = ATML / "ATML 2.02 [123456789][2 30 27 PM][5 15 2019].XML"
ATML_601 = ATML / "ATML 6.01 [2 31 52 PM][5 15 2019].xml"
TS_PLAIN = TSXML / "TsWithoutWats.xml"


def read(path: Path) -> str:
    return path.read_bytes().decode("iso-8859-1")


def write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("iso-8859-1"))


def atml_500() -> str:
    """The 6.01 sample in the 5.00 generation's namespaces (TestStand 2012-2021 write these)."""
    text = read(ATML_601)
    text = text.replace("urn:IEEE-1636.1:2013:", "urn:IEEE-1636.1:2011:01:")
    text = text.replace("urn:IEEE-1636.99:2013:SimicaCommon", "urn:IEEE-1636.99:2011:SimicaCommon")
    return text.replace(
        "www.ni.com/TestStand/ATMLTestResults/3.0", "www.ni.com/TestStand/ATMLTestResults/2.0"
    )


def atml_batch() -> str:
    """The 6.01 sample as a batch report: a second UUT (socket 1) that passed."""
    text = read(ATML_601)
    start = text.index("<trc:TestResults ")
    end = text.index("</trc:TestResults>") + len("</trc:TestResults>")
    second = text[start:end]
    second = second.replace(
        "67294591-770d-11e9-826e-00155d017250", "67294592-770d-11e9-826e-00155d017250"
    )
    second = second.replace(
        "<c:SerialNumber>123456789</c:SerialNumber>", "<c:SerialNumber>123456790</c:SerialNumber>"
    )
    second = second.replace("2019-05-15T14:31:5", "2019-05-15T14:33:5")
    # this unit's keyboard reads 7 (> 5): the test passes, and so does the unit
    keyboard = second.index('name = "Keyboard Test"')
    second = second[:keyboard] + second[keyboard:].replace(
        '<tr:Outcome value = "Failed" />', '<tr:Outcome value = "Passed" />', 1
    ).replace('<c:Datum value = "4"', '<c:Datum value = "7"', 1)
    diagnostics = second.index('name = "Keyboard Diagnostics"')
    second = second[:diagnostics] + second[diagnostics:].replace(
        '<tr:Outcome value = "Failed" />', '<tr:Outcome value = "Passed" />', 1
    )
    second = second.replace('<tr:Outcome value="Failed" />', '<tr:Outcome value="Passed" />')
    return text[:end] + "\n" + second + text[end:]


RICH_202_STEPS = """\
			<tr:Test ID = "60" name = "Supply Voltage" startDateTime = "2019-05-15T14:30:29.207"  endDateTime = "2019-05-15T14:30:29.208" >
				<tr:Data>
					<c:Collection>
						<c:Item name = "Temperature">
							<c:Collection>
								<c:Item name = "Ambient">
									<c:Datum value = "23.5" xsi:type="c:double"/>
								</c:Item>
							</c:Collection>
						</c:Item>
					</c:Collection>
				</tr:Data>
				<tr:Extension>
					<ts:TSStepProperties>
						<ts:StepType>NumericLimitTest</ts:StepType>
						<ts:StepGroup>Main</ts:StepGroup>
						<ts:Index value='17'/>
					</ts:TSStepProperties>
				</tr:Extension>
				<tr:Outcome value = "Passed" />
				<tr:TestResult ID = "Numeric">
					<tr:TestData>
						<c:Datum value = "3.31" xsi:type="c:double" unit="V"/>
					</tr:TestData>
					<tr:TestLimits>
						<tr:Limits>
							<c:LimitPair operator = "AND">
								<c:Limit comparator = "GE">
									<c:Datum unit = "V" value = "3.2" xsi:type="c:double"/>
								</c:Limit>
								<c:Limit comparator = "LE">
									<c:Datum unit = "V" value = "3.4" xsi:type="c:double"/>
								</c:Limit>
							</c:LimitPair>
						</tr:Limits>
					</tr:TestLimits>
				</tr:TestResult>
			</tr:Test>
			<tr:Test ID = "61" name = "Leakage" startDateTime = "2019-05-15T14:30:29.208"  endDateTime = "2019-05-15T14:30:29.209" >
				<tr:Extension>
					<ts:TSStepProperties>
						<ts:StepType>NumericLimitTest</ts:StepType>
						<ts:StepGroup>Main</ts:StepGroup>
						<ts:Index value='18'/>
					</ts:TSStepProperties>
				</tr:Extension>
				<tr:Outcome value = "Failed" />
				<tr:TestResult ID = "Numeric">
					<tr:TestData>
						<c:Datum value = "NaN" xsi:type="c:double" unit="A"/>
					</tr:TestData>
					<tr:TestLimits>
						<tr:Limits>
							<c:LimitPair operator = "AND">
								<c:Limit comparator = "GE">
									<c:Datum unit = "A" value = "0" xsi:type="c:double"/>
								</c:Limit>
								<c:Limit comparator = "LE">
									<c:Datum unit = "A" value = "1e-06" xsi:type="c:double"/>
								</c:Limit>
							</c:LimitPair>
						</tr:Limits>
					</tr:TestLimits>
				</tr:TestResult>
			</tr:Test>
			<tr:Test ID = "62" name = "Out Of Band" startDateTime = "2019-05-15T14:30:29.209"  endDateTime = "2019-05-15T14:30:29.209" >
				<tr:Extension>
					<ts:TSStepProperties>
						<ts:StepType>NumericLimitTest</ts:StepType>
						<ts:StepGroup>Main</ts:StepGroup>
						<ts:Index value='19'/>
					</ts:TSStepProperties>
				</tr:Extension>
				<tr:Outcome value = "Passed" />
				<tr:TestResult ID = "Numeric">
					<tr:TestData>
						<c:Datum value = "12" xsi:type="c:double" nonStandardUnit="kHz"/>
					</tr:TestData>
					<tr:TestLimits>
						<tr:Limits>
							<c:LimitPair operator = "OR">
								<c:Limit comparator = "LT">
									<c:Datum nonStandardUnit = "kHz" value = "5" xsi:type="c:double"/>
								</c:Limit>
								<c:Limit comparator = "GT">
									<c:Datum nonStandardUnit = "kHz" value = "10" xsi:type="c:double"/>
								</c:Limit>
							</c:LimitPair>
						</tr:Limits>
					</tr:TestLimits>
				</tr:TestResult>
			</tr:Test>
			<tr:Test ID = "63" name = "Firmware Version" startDateTime = "2019-05-15T14:30:29.210"  endDateTime = "2019-05-15T14:30:29.210" >
				<tr:Extension>
					<ts:TSStepProperties>
						<ts:StepType>StringValueTest</ts:StepType>
						<ts:StepGroup>Main</ts:StepGroup>
						<ts:Index value='20'/>
					</ts:TSStepProperties>
				</tr:Extension>
				<tr:Outcome value = "Passed" />
				<tr:TestResult ID = "String">
					<tr:TestData>
						<c:Datum xsi:type="c:string">
							<c:Value>v1.4.2</c:Value>
						</c:Datum>
					</tr:TestData>
					<tr:TestLimits>
						<tr:Limits>
							<c:Expected comparator = "CIEQ">
								<c:Datum xsi:type="c:string">
									<c:Value>V1.4.2</c:Value>
								</c:Datum>
							</c:Expected>
						</tr:Limits>
					</tr:TestLimits>
				</tr:TestResult>
			</tr:Test>
			<tr:Test ID = "64" name = "Rails" startDateTime = "2019-05-15T14:30:29.211"  endDateTime = "2019-05-15T14:30:29.212" >
				<tr:Extension>
					<ts:TSStepProperties>
						<ts:StepType>MultiNumericLimitTest</ts:StepType>
						<ts:StepGroup>Main</ts:StepGroup>
						<ts:Index value='21'/>
					</ts:TSStepProperties>
				</tr:Extension>
				<tr:Outcome value = "Passed" />
				<tr:TestResult ID = "3V3">
					<tr:TestData>
						<c:Datum value = "3.29" xsi:type="c:double" unit="V"/>
					</tr:TestData>
					<tr:TestLimits>
						<tr:Limits>
							<c:LimitPair operator = "AND">
								<c:Limit comparator = "GE">
									<c:Datum unit = "V" value = "3.2" xsi:type="c:double"/>
								</c:Limit>
								<c:Limit comparator = "LE">
									<c:Datum unit = "V" value = "3.4" xsi:type="c:double"/>
								</c:Limit>
							</c:LimitPair>
						</tr:Limits>
					</tr:TestLimits>
				</tr:TestResult>
				<tr:TestResult ID = "Temperature">
					<tr:TestData>
						<c:Datum value = "41.5" xsi:type="c:double" nonStandardUnit="degC"/>
					</tr:TestData>
					<tr:TestLimits>
						<tr:Limits>
							<c:SingleLimit comparator = "LT">
								<c:Datum nonStandardUnit = "degC" value = "70" xsi:type="c:double"/>
							</c:SingleLimit>
						</tr:Limits>
					</tr:TestLimits>
				</tr:TestResult>
			</tr:Test>
			<tr:SessionAction ID = "65" name = "Read EEPROM" startDateTime = "2019-05-15T14:30:29.212"  endDateTime = "2019-05-15T14:30:29.214" >
				<tr:Data>
					<c:Collection>
						<c:Item name = "Error">
							<c:Collection>
								<c:Item name = "Code">
									<c:Datum value = "-17300" xsi:type="c:integer"/>
								</c:Item>
								<c:Item name = "Msg">
									<c:Datum xsi:type="c:string">
										<c:Value>EEPROM did not answer</c:Value>
									</c:Datum>
								</c:Item>
							</c:Collection>
						</c:Item>
					</c:Collection>
				</tr:Data>
				<tr:Extension>
					<ts:TSStepProperties>
						<ts:StepType>Action</ts:StepType>
						<ts:StepGroup>Main</ts:StepGroup>
						<ts:Index value='22'/>
					</ts:TSStepProperties>
				</tr:Extension>
				<tr:ActionOutcome value = "Aborted" qualifier = "Error" />
			</tr:SessionAction>
"""


def atml_202_rich() -> str:
    """The 2.02 sample with more step kinds and an operator name outside ASCII."""
    text = read(ATML_202)
    anchor = text.index('			<tr:SessionAction ID = "54"')
    text = text[:anchor] + RICH_202_STEPS + text[anchor:]
    return text.replace(
        'ID = "administrator" name = "administrator"', 'ID = "bjørn" name = "Bjørn Æsir"'
    )


def _te(index: int, name: str, step_type: str, status: str, payload: str, **kw: str) -> str:
    code, msg, occurred = kw.get("error", "0||False").split("|")
    return f"""				<Value ID='[{index}]'>
					<Prop Type='TEResult' Flags='0x0'>
						<Prop Name='Error' Type='Obj' TypeName='Error' Flags='0x400000'>
							<Prop Name='Code' Type='Number' Flags='0x400000'><Value>{code}</Value></Prop>
							<Prop Name='Msg' Type='String' Flags='0x400000'><Value>{msg}</Value></Prop>
							<Prop Name='Occurred' Type='Boolean' Flags='0x400000'><Value>{occurred}</Value></Prop>
						</Prop>
						<Prop Name='Status' Type='String' Flags='0x400000'><Value>{status}</Value></Prop>
{payload}
						<Prop Name='ReportText' Type='String' Flags='0x400000'><Value>{kw.get("text", "")}</Value></Prop>
						<Prop Name='Common' Type='Obj' TypeName='CommonResults' Flags='0x0'>
						</Prop>
						<Prop Name='TS' Type='Obj' Flags='0x0'>
							<Prop Name='StartTime' Type='Number' Flags='0x0'><Value>{kw["start"]}</Value></Prop>
							<Prop Name='TotalTime' Type='Number' Flags='0x0'><Value>0.0011</Value></Prop>
							<Prop Name='Index' Type='Number' Flags='0x0'><Value>{index + 4}</Value></Prop>
							<Prop Name='StepName' Type='String' Flags='0x0'><Value>{name}</Value></Prop>
							<Prop Name='StepGroup' Type='String' Flags='0x0'><Value>Main</Value></Prop>
							<Prop Name='StepId' Type='String' Flags='0x0'><Value>ID#:derived{index}</Value></Prop>
							<Prop Name='Id' Type='Number' Flags='0x0'><Value>{index + 20}</Value></Prop>
							<Prop Name='StepType' Type='String' Flags='0x0'><Value>{step_type}</Value></Prop>
							<Prop Name='BlockLevel' Type='Number' Flags='0x0'><Value>0</Value></Prop>
						</Prop>
					</Prop>
				</Value>
"""


def _num(name: str, number: str) -> str:
    return f"<Prop Name='{name}' Type='Number' Flags='0x0'><Value>{number}</Value></Prop>"


def _str(name: str, text: str, flags: str = "0x0") -> str:
    return f"<Prop Name='{name}' Type='String' Flags='{flags}'><Value>{text}</Value></Prop>"


def _limits(low: str, high: str | None = None) -> str:
    inner = _num("Low", low) + (_num("High", high) if high is not None else "")
    return f"<Prop Name='Limits' Type='Obj' Flags='0x3000'>{inner}</Prop>"


def _measurement(index: int, name: str, data: str, unit: str, limits: tuple[str, str, str]) -> str:
    low, high, comp = limits
    return (
        f"<Value ID='[{index}]'><Prop Name='{name}' Type='Obj' TypeName='NI_LimitMeasurement' "
        f"Flags='0x0'>{_num('Data', data)}{_str('Units', unit)}{_limits(low, high)}"
        f"{_str('Comp', comp)}{_str('Status', 'Passed')}</Prop></Value>"
    )


TS_EXTRA = (
    _te(
        13,
        "Supply Voltage",
        "NumericLimitTest",
        "Passed",
        _num("Numeric", "3.31")
        + _str("Units", "V")
        + _limits("3.2", "3.4")
        + _str("Comp", "GELE")
        + "<Prop Name='Temperature' Type='Obj' Flags='0x0'>"
        + _num("Ambient", "23.5")
        + "</Prop>",
        start="147.9900000",
    )
    + _te(
        14,
        "Leakage",
        "NumericLimitTest",
        "Failed",
        _num("Numeric", "NaN") + _str("Units", "A") + _limits("0", "1e-06") + _str("Comp", "GELE"),
        start="147.9920000",
    )
    + _te(
        15,
        "Firmware Version",
        "StringValueTest",
        "Passed",
        _str("String", "v1.4.2")
        + "<Prop Name='Limits' Type='Obj' Flags='0x0'>"
        + _str("String", "V1.4.2")
        + "</Prop>"
        + _str("Comp", "IgnoreCase"),
        start="147.9940000",
    )
    + _te(
        16,
        "Rails",
        "MultiNumericLimitTest",
        "Passed",
        "<Prop Name='Measurement' Type='Array' LBound='[0]' HBound='[1]' ElementType='Obj' "
        "Flags='0x0'>"
        + _measurement(0, "3V3", "3.29", "V", ("3.2", "3.4", "GELE"))
        + _measurement(1, "Temperature", "41.5", "degC", ("70", "70", "LT"))
        + "</Prop>",
        start="147.9960000",
    )
    + _te(
        17,
        "Read EEPROM",
        "Action",
        "Error",
        "",
        start="147.9980000",
        error="-17300|EEPROM did not answer|True",
    )
)


def _tsxml_unit(report: str, serial: str, socket: int, keyboard: str, verdict: str) -> str:
    report = report.replace("<Value>2342343</Value>", f"<Value>{serial}</Value>", 1)
    report = re.sub(
        r"(<Prop Name='PartNumber' Type='String' Flags='0x0'>\s*<Value>)(</Value>)",
        r"\1PCBA-200\2",
        report,
        count=1,
    )
    report = re.sub(
        r"(<Prop Name='BatchSerialNumber' Type='String' Flags='0x0'>\s*<Value>)(</Value>)",
        r"\1BATCH-7\2",
        report,
        count=1,
    )
    report = re.sub(
        r"(<Prop Name='TestSocketIndex' Type='Number' Flags='0x0'>\s*<Value>)-1(</Value>)",
        rf"\g<1>{socket}\2",
        report,
        count=1,
    )
    report = report.replace("<Value>administrator</Value>", "<Value>Bjørn</Value>")
    report = report.replace("HBound='[12]'", "HBound='[17]'")
    last = report.index("			</Prop>\n			<Prop Name='SequenceFile'")
    report = report[:last] + TS_EXTRA + report[last:]
    keyboard_at = report.index("<Value>Keyboard Test</Value>")
    status_start = report.rindex(
        "<Prop Name='Status' Type='String' Flags='0x400000'>", 0, keyboard_at
    )
    head, tail = report[:status_start], report[status_start:]
    tail = tail.replace("<Value>Passed</Value>", f"<Value>{verdict}</Value>", 1)
    report = head + tail
    value_start = report.rindex(
        "<Prop Name='Numeric' Type='Number' Flags='0x2400'>",
        0,
        report.index("<Value>Keyboard Test</Value>"),
    )
    head, tail = report[:value_start], report[value_start:]
    tail = tail.replace("<Value>6</Value>", f"<Value>{keyboard}</Value>", 1)
    report = head + tail
    report = report.replace("UUTResult='Passed'", f"UUTResult='{verdict}'")
    report = report.replace("StepCount='17'", "StepCount='22'")
    if verdict == "Failed":  # the root result's status, the last one in the report
        at = report.rindex("<Value>Passed</Value>")
        report = report[:at] + "<Value>Failed</Value>" + report[at + len("<Value>Passed</Value>") :]
    return report


def tsxml_batch() -> str:
    """The plain (no add-on) sample as a batch of two UUTs with more step kinds, iso-8859-1."""
    text = read(TS_PLAIN)
    start, end = text.index("<Report "), text.index("</Report>") + len("</Report>")
    report = text[start:end]
    first = _tsxml_unit(report, "2342343", 0, "6", "Passed")
    second = _tsxml_unit(report, "2342344", 1, "4", "Failed")
    second = second.replace("<Value>15:47:48 PM</Value>", "<Value>15:49:02 PM</Value>")
    second = re.sub(
        r"(<Prop Name='Minutes' Type='Number' Flags='0x0'>\s*<Value>)47(</Value>)",
        r"\g<1>49\2",
        second,
        count=1,
    )
    second = re.sub(
        r"(<Prop Name='Seconds' Type='Number' Flags='0x0'>\s*<Value>)48(</Value>)",
        r"\g<1>2\2",
        second,
        count=1,
    )
    second = second.replace("-1-2022-7-1-15-47-48-927", "-2-2022-7-1-15-49-02-927")
    return text[:start] + first + "\n" + second + text[end:]


def main() -> None:
    write(ATML / "derived ATML 5.00 [2 31 52 PM][5 15 2019].xml", atml_500())
    write(ATML / "derived ATML 6.01 batch of two.xml", atml_batch())
    write(ATML / "derived ATML 2.02 more step kinds.XML", atml_202_rich())
    write(TSXML / "derived TsWithoutWats batch of two.xml", tsxml_batch())


if __name__ == "__main__":
    main()
