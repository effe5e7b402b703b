"""customs-pmm: the WCO Performance Measurement Mechanism as a platform."""

__version__ = "0.1.0"
