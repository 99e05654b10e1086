"""What a remote caller may reach and how its calls are checked: `@rpc`, scopes, argument types, targets."""
