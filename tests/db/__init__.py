"""The database layer (db/): the quality engine, the demo seed, the models against the migrations."""
