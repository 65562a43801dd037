"""wats-converter: watch folders, convert test results to WATS reports, deliver them durably."""

__version__ = "0.1.0"
