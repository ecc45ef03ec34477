"""What every domain of the schema shares: ids, nodes, connections, errors, limits."""
