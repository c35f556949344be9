"""Exchange formats: exports and imports (reports, iCalendar, IATI, HXL)."""
