"""(filled by the distillers work)."""
