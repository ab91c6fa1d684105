"""Browser tests: the published pages (every report and the index) in headless Chromium."""
