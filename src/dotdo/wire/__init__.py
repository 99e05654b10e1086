"""What crosses the wire: tagged values, pipelines, capability tokens, Cap'n Web, WebSocket RPC."""
