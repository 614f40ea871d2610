"""Evidence normalizers: one module per artifact format, all behind `interface.Normalizer`."""
