"""DOCore's building blocks: HTTP values, router, middleware, state, alarms, sockets, RPC transports."""
