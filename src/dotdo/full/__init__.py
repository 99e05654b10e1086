"""DOFull: the top layer (AI, human-in-the-loop, fan-out, the cascade) on DOWorkflow."""
