"""Golden files: the stack generated from each input config of ``regenerate.CASES``, byte for byte
(`make golden` regenerates)."""
