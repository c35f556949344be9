"""Exchange formats: exports and imports (reports, IATI, HXL, iCalendar)."""
