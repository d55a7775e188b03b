"""Background exports of the call list: CSV, gzipped CSV or XLSX, any window."""
