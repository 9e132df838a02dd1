"""Per-user preferences: which clock the panel shows (UTC, or the browser's own zone)."""
