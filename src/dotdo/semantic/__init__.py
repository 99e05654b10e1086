"""DOSemantic: Things, noun accessors, MongoDB-style queries, Nouns, Verbs, Actions, relationships."""
