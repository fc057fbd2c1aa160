"""(filled by the segmentors work)."""
