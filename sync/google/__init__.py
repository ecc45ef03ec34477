"""Google Workspace directory adapter (Admin SDK Directory API)."""
