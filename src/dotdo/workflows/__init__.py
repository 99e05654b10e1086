"""DOWorkflow: events and handlers, the `every` schedules, durable steps, cross-object stubs."""
