"""What the tools do: load and check the config, then train, evaluate, predict, export."""
