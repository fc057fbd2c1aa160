"""Training / testing glue on mmengine."""
