"""DOCore's building blocks: HTTP values, router, middleware, state, alarms, RPC, WebSockets."""
