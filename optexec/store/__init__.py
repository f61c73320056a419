"""Market data store: DuckDB schema, validated loading, importers and the bundled synthetic sample."""
