"""Operating-system helpers: atomic writes, freed memory, native library checks."""
