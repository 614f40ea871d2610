"""One module per artifact format; each exposes `NORMALIZER`."""
