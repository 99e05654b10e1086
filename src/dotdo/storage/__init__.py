"""DOStorage's tiers: things in memory (L0), a write-ahead log (L1) and lazy checkpoints
into `things` (L2), behind the semantic layer's `ThingStore` seam (ADR 0019)."""
