"""The OV-Shapes harness: sweeps and measurements that drive declip_mm's tools on the
proving ground (``declip_mm.datasets.ov_shapes`` holds the world itself)."""
