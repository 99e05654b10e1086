"""DOFull's AI part: `self.ai` over providers (Workers AI, OpenAI-compatible HTTP), and
semantic search over things. See ADR 0026 and docs/api.md, "DOFull"."""
