"""(filled by the detectors work)."""
