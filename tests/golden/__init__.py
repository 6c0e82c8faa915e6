"""Golden files: the stack generated from examples/lookout.yaml, byte for byte (`make golden` regenerates)."""
