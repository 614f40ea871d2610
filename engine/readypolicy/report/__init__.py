"""Report formats for decisions: one module per format behind `interface.ReportFormat`."""
