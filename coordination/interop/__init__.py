"""Formats other systems speak: iCalendar today; IATI, HXL and reports alongside it."""
