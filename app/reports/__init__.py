"""Reports rendered from the packages' typed results (Markdown for files and downloads)."""
