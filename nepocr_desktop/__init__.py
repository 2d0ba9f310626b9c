"""nepocr: offline handwritten Nepali (Devanagari) recognition."""

__version__ = "0.1.0"
