"""Running the catalog: the stack and its supervisor, replicas and clusters, faults, `catalog run`, the CLI, deploy."""
