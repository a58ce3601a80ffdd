"""The weekly digest's pure decisions: when it is due (cadence), what it picks (rotation), what it says (compose)."""
